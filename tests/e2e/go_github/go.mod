// The go-github end-to-end tests (e2e_test.go). run_e2e.sh builds them
// offline in GOPATH mode (GO111MODULE=off) against Debian's packaged sources
// in /usr/share/gocode: this file makes the directory "module-aware" code, so
// that Go resolves the import github.com/google/go-github/v48/github to
// /usr/share/gocode/src/github.com/google/go-github/github (minimal module
// compatibility). Nothing is downloaded.
module github-proxy/tests/e2e/go_github

go 1.19

require github.com/google/go-github/v48 v48.1.0
