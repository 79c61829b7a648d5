#include "harness/shard/merge_reports.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/words.h"
#include "harness/shard/shard.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

bool SameTarget(const TargetResult& a, const TargetResult& b) {
  return a.output_type == b.output_type && a.name == b.name && a.versions == b.versions &&
         a.compat == b.compat && a.is_profile == b.is_profile;
}

std::string Described(const TargetResult& t) {
  return t.output_type + " " + t.name + " (compat " + t.compat + ": " + JoinWords(t.versions, " ") +
         ")";
}

}  // namespace

ConformReport MergeConformReports(const std::vector<fs::path>& paths) {
  if (paths.empty()) throw HarnessError("merge: no report to merge");
  std::vector<ConformReport> reports;
  std::vector<Shard> shards;
  for (const auto& path : paths) {
    ConformReport report = ParseJsonReport(ReadFile(path), path.string());
    if (report.shard.empty()) {
      throw HarnessError(path.string() +
                         ": not a shard's report (no \"shard\": run conform with --shard K/N)");
    }
    Shard shard;
    try {
      shard = ParseShard(report.shard);
    } catch (const HarnessError& error) {
      throw HarnessError(path.string() + ": \"shard\": " + error.what());
    }
    shards.push_back(shard);
    reports.push_back(std::move(report));
  }

  // Shards 1..N of one N, each once.
  const unsigned count = shards.front().count;
  std::vector<const fs::path*> holder(count + 1, nullptr);
  for (size_t i = 0; i < reports.size(); ++i) {
    if (shards[i].count != count) {
      throw HarnessError(paths[i].string() + ": shard " + shards[i].Text() + ", but " +
                         paths[0].string() + " is shard " + shards[0].Text());
    }
    if (holder[shards[i].index] != nullptr) {
      throw HarnessError(paths[i].string() + ": shard " + shards[i].Text() + " again (also " +
                         holder[shards[i].index]->string() + ")");
    }
    holder[shards[i].index] = &paths[i];
  }
  std::vector<std::string> missing;
  for (unsigned k = 1; k <= count; ++k) {
    if (holder[k] == nullptr) missing.push_back(std::to_string(k) + "/" + std::to_string(count));
  }
  if (!missing.empty()) {
    throw HarnessError("merge: shard" + std::string(missing.size() == 1 ? " " : "s ") +
                       JoinWords(missing) + " missing (" + std::to_string(reports.size()) + " of " +
                       std::to_string(count) + " reports given)");
  }

  // One run: the same command, sandbox, instar and targets everywhere.
  const ConformReport& first = reports.front();
  for (size_t i = 1; i < reports.size(); ++i) {
    const ConformReport& r = reports[i];
    auto differs = [&](const char* what, const std::string& a, const std::string& b) {
      throw HarnessError(paths[i].string() + ": " + what + " \"" + b + "\", but " +
                         paths[0].string() + " has \"" + a + "\" (not shards of one run)");
    };
    if (r.command != first.command) differs("command", first.command, r.command);
    if (r.sandbox != first.sandbox) differs("sandbox", first.sandbox, r.sandbox);
    if (r.instar != first.instar) differs("instar", first.instar, r.instar);
    if (r.targets.size() != first.targets.size()) {
      throw HarnessError(paths[i].string() + ": " + std::to_string(r.targets.size()) +
                         " targets, but " + paths[0].string() + " has " +
                         std::to_string(first.targets.size()) + " (not shards of one run)");
    }
    for (size_t t = 0; t < r.targets.size(); ++t) {
      if (!SameTarget(r.targets[t], first.targets[t])) {
        throw HarnessError(paths[i].string() + ": targets[" + std::to_string(t) + "] is " +
                           Described(r.targets[t]) + ", but " + paths[0].string() + " has " +
                           Described(first.targets[t]) + " (not shards of one run)");
      }
    }
  }

  ConformReport merged;
  merged.command = first.command;
  merged.sandbox = first.sandbox;
  merged.instar = first.instar;
  merged.merged_shards = count;
  merged.targets = first.targets;
  std::map<std::pair<std::string, std::string>, size_t> target_index;
  for (size_t t = 0; t < merged.targets.size(); ++t) {
    auto& target = merged.targets[t];
    target.pass = target.fail = target.skip = 0;
    target_index[{target.output_type, target.name}] = t;
  }
  std::map<std::tuple<size_t, std::string, std::string>, const fs::path*> seen;
  for (size_t i = 0; i < reports.size(); ++i) {
    for (auto& c : reports[i].cases) {
      const size_t t = target_index.at({c.output_type, c.target});
      auto [at, inserted] = seen.emplace(std::make_tuple(t, c.bucket, c.name), &paths[i]);
      if (!inserted) {
        throw HarnessError(paths[i].string() + ": case " + c.output_type + " " + c.target + " " +
                           c.Id() + " is in " + at->second->string() + " too");
      }
      TargetResult& target = merged.targets[t];
      ++(c.outcome == Outcome::kPass   ? target.pass
         : c.outcome == Outcome::kFail ? target.fail
                                       : target.skip);
      merged.cases.push_back(std::move(c));
    }
  }
  // Conform's order: target by target, then by bucket, then by case.
  std::stable_sort(merged.cases.begin(), merged.cases.end(),
                   [&](const CaseResult& a, const CaseResult& b) {
                     const size_t ta = target_index.at({a.output_type, a.target});
                     const size_t tb = target_index.at({b.output_type, b.target});
                     return std::tie(ta, a.bucket, a.name) < std::tie(tb, b.bucket, b.name);
                   });
  return merged;
}

}  // namespace instar::harness
