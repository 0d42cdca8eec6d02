// The body of `GET /repos/octo-org/repo-1` from the fake GitHub
// (tests/fake_github), requested with `Host: api.github.com` so that its
// absolute URLs are stable; 6704 bytes, compact JSON. Recorded with:
//   fake_github --port 0 --port-file F
//   curl -H 'Host: api.github.com' -H 'Authorization: token abc' -H 'Accept: */*'
//        -H 'User-Agent: t' -o body http://127.0.0.1:PORT/repos/octo-org/repo-1
// The ETags the fake returned for it are in cache_test_support.h.
#pragma once

#include <string_view>

namespace github_proxy::cache::test {

inline constexpr std::string_view fake_repo_1_body =
    R"b({"id":1001,"node_id":"MDEwOlJlcG9zaXRvcnkxMDAx","name":"repo-1","full_name":"octo-org/repo-1","priva)b"
    R"b(te":false,"owner":{"login":"octo-org","id":9919,"node_id":"MDEyOk9yZ2FuaXphdGlvbjk5MTk=","avatar_url)b"
    R"b(":"https://avatars.githubusercontent.com/u/9919?v=4","gravatar_id":"","url":"http://api.github.com/u)b"
    R"b(sers/octo-org","html_url":"https://github.com/octo-org","followers_url":"http://api.github.com/users)b"
    R"b(/octo-org/followers","following_url":"http://api.github.com/users/octo-org/following{/other_user}",")b"
    R"b(gists_url":"http://api.github.com/users/octo-org/gists{/gist_id}","starred_url":"http://api.github.c)b"
    R"b(om/users/octo-org/starred{/owner}{/repo}","subscriptions_url":"http://api.github.com/users/octo-org/)b"
    R"b(subscriptions","organizations_url":"http://api.github.com/users/octo-org/orgs","repos_url":"http://a)b"
    R"b(pi.github.com/users/octo-org/repos","events_url":"http://api.github.com/users/octo-org/events{/priva)b"
    R"b(cy}","received_events_url":"http://api.github.com/users/octo-org/received_events","type":"Organizati)b"
    R"b(on","user_view_type":"public","site_admin":false},"html_url":"https://github.com/octo-org/repo-1","d)b"
    R"b(escription":"Fake repository repo-1 served by the github-proxy test double","fork":false,"url":"http)b"
    R"b(://api.github.com/repos/octo-org/repo-1","forks_url":"http://api.github.com/repos/octo-org/repo-1/fo)b"
    R"b(rks","keys_url":"http://api.github.com/repos/octo-org/repo-1/keys{/key_id}","collaborators_url":"htt)b"
    R"b(p://api.github.com/repos/octo-org/repo-1/collaborators{/collaborator}","teams_url":"http://api.githu)b"
    R"b(b.com/repos/octo-org/repo-1/teams","hooks_url":"http://api.github.com/repos/octo-org/repo-1/hooks",")b"
    R"b(issue_events_url":"http://api.github.com/repos/octo-org/repo-1/issues/events{/number}","events_url":)b"
    R"b("http://api.github.com/repos/octo-org/repo-1/events","assignees_url":"http://api.github.com/repos/oc)b"
    R"b(to-org/repo-1/assignees{/user}","branches_url":"http://api.github.com/repos/octo-org/repo-1/branches)b"
    R"b({/branch}","tags_url":"http://api.github.com/repos/octo-org/repo-1/tags","blobs_url":"http://api.git)b"
    R"b(hub.com/repos/octo-org/repo-1/git/blobs{/sha}","git_tags_url":"http://api.github.com/repos/octo-org/)b"
    R"b(repo-1/git/tags{/sha}","git_refs_url":"http://api.github.com/repos/octo-org/repo-1/git/refs{/sha}",")b"
    R"b(trees_url":"http://api.github.com/repos/octo-org/repo-1/git/trees{/sha}","statuses_url":"http://api.)b"
    R"b(github.com/repos/octo-org/repo-1/statuses/{sha}","languages_url":"http://api.github.com/repos/octo-o)b"
    R"b(rg/repo-1/languages","stargazers_url":"http://api.github.com/repos/octo-org/repo-1/stargazers","cont)b"
    R"b(ributors_url":"http://api.github.com/repos/octo-org/repo-1/contributors","subscribers_url":"http://a)b"
    R"b(pi.github.com/repos/octo-org/repo-1/subscribers","subscription_url":"http://api.github.com/repos/oct)b"
    R"b(o-org/repo-1/subscription","commits_url":"http://api.github.com/repos/octo-org/repo-1/commits{/sha}")b"
    R"b(,"git_commits_url":"http://api.github.com/repos/octo-org/repo-1/git/commits{/sha}","comments_url":"h)b"
    R"b(ttp://api.github.com/repos/octo-org/repo-1/comments{/number}","issue_comment_url":"http://api.github)b"
    R"b(.com/repos/octo-org/repo-1/issues/comments{/number}","contents_url":"http://api.github.com/repos/oct)b"
    R"b(o-org/repo-1/contents/{+path}","compare_url":"http://api.github.com/repos/octo-org/repo-1/compare/{b)b"
    R"b(ase}...{head}","merges_url":"http://api.github.com/repos/octo-org/repo-1/merges","archive_url":"http)b"
    R"b(://api.github.com/repos/octo-org/repo-1/{archive_format}{/ref}","downloads_url":"http://api.github.c)b"
    R"b(om/repos/octo-org/repo-1/downloads","issues_url":"http://api.github.com/repos/octo-org/repo-1/issues)b"
    R"b({/number}","pulls_url":"http://api.github.com/repos/octo-org/repo-1/pulls{/number}","milestones_url")b"
    R"b(:"http://api.github.com/repos/octo-org/repo-1/milestones{/number}","notifications_url":"http://api.g)b"
    R"b(ithub.com/repos/octo-org/repo-1/notifications{?since,all,participating}","labels_url":"http://api.gi)b"
    R"b(thub.com/repos/octo-org/repo-1/labels{/name}","releases_url":"http://api.github.com/repos/octo-org/r)b"
    R"b(epo-1/releases{/id}","deployments_url":"http://api.github.com/repos/octo-org/repo-1/deployments","cr)b"
    R"b(eated_at":"2015-03-02T00:00:00Z","updated_at":"2024-05-01T12:01:00Z","pushed_at":"2024-05-01T12:01:0)b"
    R"b(0Z","git_url":"git://github.com/octo-org/repo-1.git","ssh_url":"git@github.com:octo-org/repo-1.git",)b"
    R"b("clone_url":"https://github.com/octo-org/repo-1.git","svn_url":"https://github.com/octo-org/repo-1",)b"
    R"b("homepage":null,"size":1041,"stargazers_count":41,"watchers_count":41,"language":"C++","has_issues":)b"
    R"b(true,"has_projects":true,"has_downloads":true,"has_wiki":true,"has_pages":false,"has_discussions":fa)b"
    R"b(lse,"forks_count":4,"mirror_url":null,"archived":false,"disabled":false,"open_issues_count":5,"licen)b"
    R"b(se":{"key":"mit","name":"MIT License","spdx_id":"MIT","url":"http://api.github.com/licenses/mit","no)b"
    R"b(de_id":"MDc6TGljZW5zZTEz"},"allow_forking":true,"is_template":false,"web_commit_signoff_required":fa)b"
    R"b(lse,"topics":["ci","fake","github-api"],"visibility":"public","forks":4,"open_issues":5,"watchers":4)b"
    R"b(1,"default_branch":"main","permissions":{"admin":false,"maintain":false,"push":true,"triage":true,"p)b"
    R"b(ull":true},"temp_clone_token":"","allow_squash_merge":true,"allow_merge_commit":true,"allow_rebase_m)b"
    R"b(erge":true,"allow_auto_merge":false,"delete_branch_on_merge":false,"allow_update_branch":false,"use_)b"
    R"b(squash_pr_title_as_default":false,"squash_merge_commit_message":"COMMIT_MESSAGES","squash_merge_comm)b"
    R"b(it_title":"COMMIT_OR_PR_TITLE","merge_commit_message":"PR_TITLE","merge_commit_title":"MERGE_MESSAGE)b"
    R"b(","custom_properties":{},"organization":{"login":"octo-org","id":9919,"node_id":"MDEyOk9yZ2FuaXphdGl)b"
    R"b(vbjk5MTk=","avatar_url":"https://avatars.githubusercontent.com/u/9919?v=4","gravatar_id":"","url":"h)b"
    R"b(ttp://api.github.com/users/octo-org","html_url":"https://github.com/octo-org","followers_url":"http:)b"
    R"b(//api.github.com/users/octo-org/followers","following_url":"http://api.github.com/users/octo-org/fol)b"
    R"b(lowing{/other_user}","gists_url":"http://api.github.com/users/octo-org/gists{/gist_id}","starred_url)b"
    R"b(":"http://api.github.com/users/octo-org/starred{/owner}{/repo}","subscriptions_url":"http://api.gith)b"
    R"b(ub.com/users/octo-org/subscriptions","organizations_url":"http://api.github.com/users/octo-org/orgs")b"
    R"b(,"repos_url":"http://api.github.com/users/octo-org/repos","events_url":"http://api.github.com/users/)b"
    R"b(octo-org/events{/privacy}","received_events_url":"http://api.github.com/users/octo-org/received_even)b"
    R"b(ts","type":"Organization","user_view_type":"public","site_admin":false},"security_and_analysis":{"se)b"
    R"b(cret_scanning":{"status":"disabled"},"secret_scanning_push_protection":{"status":"disabled"},"depend)b"
    R"b(abot_security_updates":{"status":"disabled"},"secret_scanning_non_provider_patterns":{"status":"disa)b"
    R"b(bled"},"secret_scanning_validity_checks":{"status":"disabled"}},"network_count":4,"subscribers_count)b"
    R"b(":6})b";

}  // namespace github_proxy::cache::test
