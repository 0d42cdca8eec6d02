// Redis as organisations run it, for tests: a Sentinel-managed master with a
// replica and three sentinels, and a Redis Cluster of three masters with a
// replica each. Real redis-server processes (support/redis_server.h) on free
// loopback ports, stopped by PID with the fixture.
//
// Both take seconds to form, so a suite starts one and shares it (ctest runs
// such a suite in one process: tests/CMakeLists.txt, "topology suites").
//
//   ghp_test::redis_sentinel_group group;   // formed: sentinels agree on the master
//   group.url()                             // redis-sentinel://127.0.0.1:S1,…/mymaster
//   group.master()                          // the server the sentinels name now
//
//   ghp_test::redis_cluster cluster;        // formed: cluster_state:ok everywhere
//   cluster.url()                           // redis-cluster://127.0.0.1:P1,127.0.0.1:P2
//   cluster.owner_of(slot)                  // the master serving a slot
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/poll.h"
#include "support/redis_server.h"

namespace ghp_test {

// `command`, or "" when the server does not answer (down, starting).
inline std::string try_command(const redis_server& server, const std::vector<std::string>& argv) {
  try {
    return server.command(argv);
  } catch (const std::exception&) {
    return {};
  }
}

class redis_sentinel_group {
 public:
  static constexpr const char* master_name = "mymaster";

  redis_sentinel_group() {
    servers_.push_back(std::make_unique<redis_server>());
    const std::string master_port = std::to_string(servers_[0]->port());
    servers_.push_back(std::make_unique<redis_server>(
        redis_server::options{.extra_args = {"--replicaof", "127.0.0.1", master_port}}));
    for (int i = 0; i < 3; ++i) {
      redis_server::options options;
      options.sentinel_monitor = sentinel_watch{master_name, servers_[0]->port()};
      sentinels_.push_back(std::make_unique<redis_server>(options));
    }
    // Formed: every sentinel knows the replica and the two other sentinels.
    const bool formed = poll_until(
        [&] {
          for (const auto& s : sentinels_) {
            if (try_command(*s, {"SENTINEL", "REPLICAS", master_name}) != "(array of 1)" ||
                try_command(*s, {"SENTINEL", "SENTINELS", master_name}) != "(array of 2)") {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(20));
    if (!formed) throw std::runtime_error("the sentinel group did not form; a sentinel's log:\n" + sentinels_[0]->log());
  }

  std::string url() const {
    std::string text = "redis-sentinel://";
    for (std::size_t i = 0; i < sentinels_.size(); ++i) {
      if (i) text += ",";
      text += "127.0.0.1:" + std::to_string(sentinels_[i]->port());
    }
    return text + "/" + master_name;
  }

  // The data servers (0 started as master, 1 as its replica) and the sentinels.
  redis_server& server(std::size_t i) { return *servers_.at(i); }
  redis_server& sentinel(std::size_t i) { return *sentinels_.at(i); }

  // The port the first sentinel that answers names as the master's
  // (INFO sentinel: "master0:name=mymaster,status=ok,address=127.0.0.1:6380,…"); 0 if none.
  unsigned short master_port() const {
    for (const auto& s : sentinels_) {
      if (!s->running()) continue;
      const std::string info = try_command(*s, {"INFO", "sentinel"});
      const auto at = info.find("address=");
      if (at == std::string::npos) continue;
      const auto colon = info.find(':', at);
      const auto end = info.find_first_of(",\r\n", colon);
      return static_cast<unsigned short>(std::stoul(info.substr(colon + 1, end - colon - 1)));
    }
    return 0;
  }

  // The data server the sentinels name as master now.
  redis_server& master() {
    const auto port = master_port();
    for (auto& s : servers_) {
      if (s->port() == port) return *s;
    }
    throw std::runtime_error("no sentinel names a master of this group");
  }

 private:
  std::vector<std::unique_ptr<redis_server>> servers_;
  std::vector<std::unique_ptr<redis_server>> sentinels_;
};

class redis_cluster {
 public:
  // Three masters, each with one replica: six servers.
  redis_cluster() {
    for (int i = 0; i < 6; ++i) {
      nodes_.push_back(std::make_unique<redis_server>(redis_server::options{
          .extra_args = {"--cluster-enabled", "yes", "--cluster-node-timeout", "2000"}}));
    }
    std::string command = "redis-cli --cluster create";
    for (const auto& n : nodes_) command += " 127.0.0.1:" + std::to_string(n->port());
    command += " --cluster-replicas 1 --cluster-yes >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("redis-cli --cluster create failed");
    // Formed: every node sees the cluster ok, and every replica has synced
    // with its master (a replica that never did would not be promoted).
    const bool formed = poll_until(
        [&] {
          for (const auto& n : nodes_) {
            if (try_command(*n, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) return false;
            const std::string replication = try_command(*n, {"INFO", "replication"});
            if (replication.find("role:slave") != std::string::npos &&
                replication.find("master_link_status:up") == std::string::npos) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(20));
    if (!formed) throw std::runtime_error("the cluster did not form; a node's log:\n" + nodes_[0]->log());
  }

  // Two seeds are enough to find the rest.
  std::string url() const {
    return "redis-cluster://127.0.0.1:" + std::to_string(nodes_[0]->port()) + ",127.0.0.1:" +
           std::to_string(nodes_[1]->port());
  }

  std::size_t size() const { return nodes_.size(); }
  redis_server& node(std::size_t i) { return *nodes_.at(i); }
  std::string id_of(std::size_t i) const { return try_command(*nodes_.at(i), {"CLUSTER", "MYID"}); }

  // The master serving `slot`, from CLUSTER NODES of the first node that answers.
  std::size_t owner_of(unsigned slot) const {
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      const std::string nodes = try_command(*n, {"CLUSTER", "NODES"});
      if (!nodes.empty()) return owner_in(nodes, slot);
    }
    throw std::runtime_error("no cluster node answers");
  }

 private:
  // Lines of CLUSTER NODES: "<id> <ip:port@cport> <flags> <master> … <slot ranges>".
  std::size_t owner_in(const std::string& nodes, unsigned slot) const {
    std::size_t start = 0;
    while (start < nodes.size()) {
      const auto end = nodes.find('\n', start);
      const std::string line = nodes.substr(start, end == std::string::npos ? std::string::npos : end - start);
      start = end == std::string::npos ? nodes.size() : end + 1;
      std::vector<std::string> fields;
      std::size_t at = 0;
      while (at < line.size()) {
        const auto space = line.find(' ', at);
        fields.push_back(line.substr(at, space == std::string::npos ? std::string::npos : space - at));
        at = space == std::string::npos ? line.size() : space + 1;
      }
      if (fields.size() < 9 || fields[2].find("master") == std::string::npos) continue;
      for (std::size_t f = 8; f < fields.size(); ++f) {
        const std::string& range = fields[f];
        if (range.empty() || range.front() == '[') continue;  // a migration marker
        const auto dash = range.find('-');
        const unsigned first = static_cast<unsigned>(std::stoul(range.substr(0, dash)));
        const unsigned last = dash == std::string::npos ? first : static_cast<unsigned>(std::stoul(range.substr(dash + 1)));
        if (slot < first || slot > last) continue;
        const auto colon = fields[1].find(':');
        const auto port = static_cast<unsigned short>(std::stoul(fields[1].substr(colon + 1)));
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
          if (nodes_[i]->port() == port) return i;
        }
      }
    }
    throw std::runtime_error("no master serves slot " + std::to_string(slot));
  }

  std::vector<std::unique_ptr<redis_server>> nodes_;
};

}  // namespace ghp_test
