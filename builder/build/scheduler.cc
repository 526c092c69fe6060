#include "builder/build/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace strata::builder::build {
namespace {

enum class State { kPending, kRunning, kDone };

class Scheduler {
 public:
  Scheduler(const specs::Plan& plan, const BuildContext& context, OutputStore& store,
            sandbox::Runner& runner, const BuildObserver& observer)
      : plan_(plan), ctx_(context), store_(store), runner_(runner), observer_(observer) {
    for (size_t i : plan.package_order) {
      const specs::Package& p = plan.spec.packages[i];
      order_.push_back(&p);
      state_[p.name] = State::kPending;
    }
  }

  Result<std::map<std::string, PackageOutput>> run() {
    size_t workers = static_cast<size_t>(std::clamp<int64_t>(ctx_.jobs, 1, 64));
    workers = std::min(workers, std::max<size_t>(order_.size(), 1));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < workers; ++i) threads.emplace_back([this] { work(); });
    for (std::thread& t : threads) t.join();
    if (error_) return std::move(*error_);
    return std::move(outputs_);
  }

 private:
  // The next package whose dependencies are all built, or null.
  const specs::Package* next_ready() {
    for (const specs::Package* p : order_) {
      if (state_[p->name] != State::kPending) continue;
      bool ready = std::all_of(p->depends.begin(), p->depends.end(),
                               [&](const specs::Ref& d) { return state_[d.name] == State::kDone; });
      if (ready) return p;
    }
    return nullptr;
  }

  bool all_done() const {
    return std::all_of(state_.begin(), state_.end(),
                       [](const auto& kv) { return kv.second == State::kDone; });
  }

  void work() {
    std::unique_lock lock(mu_);
    for (;;) {
      const specs::Package* p = nullptr;
      cv_.wait(lock, [&] { return cancelled_ || all_done() || (p = next_ready()) != nullptr; });
      if (cancelled_ || p == nullptr) return;
      state_[p->name] = State::kRunning;
      lock.unlock();
      auto output = build_one(*p);
      lock.lock();
      if (!output.ok()) {
        if (!error_) error_ = std::move(output).error();
        cancelled_ = true;
      } else {
        outputs_[p->name] = *std::move(output);
        state_[p->name] = State::kDone;
      }
      cv_.notify_all();
    }
  }

  // Dependencies are visible transitively: an app that links a library sees what the
  // library itself was built against. The key needs only direct ones (theirs include theirs).
  std::vector<PackageOutput> visible_dependencies(const specs::Package& p) {
    std::lock_guard lock(mu_);
    std::vector<PackageOutput> out;
    for (const std::string& name : transitive_dependencies(plan_.spec, p)) {
      out.push_back(outputs_.at(name));
    }
    return out;
  }

  bool is_dependency(const std::string& name) const {
    return std::any_of(plan_.spec.packages.begin(), plan_.spec.packages.end(),
                       [&](const specs::Package& q) {
                         return std::any_of(q.depends.begin(), q.depends.end(),
                                            [&](const specs::Ref& r) { return r.name == name; });
                       });
  }

  Result<PackageOutput> build_one(const specs::Package& p) {
    PackageBuildRequest request{.package = &p,
                                .epoch = plan_.spec.epoch,
                                .jobs = ctx_.jobs,
                                .rootfs = ctx_.rootfs,
                                .log_dir = fmt::format("{}/{}", ctx_.log_root, p.name),
                                .is_dependency = is_dependency(p.name)};
    request.env = plan_.spec.environment.env;
    for (const auto& [k, v] : p.env) request.env[k] = v;
    CacheKeyInputs key_inputs{.environment = ctx_.environment, .package = &p, .env = request.env};
    for (const specs::Ref& s : p.sources) {
      request.sources.push_back(ctx_.sources.at(s.name));
      key_inputs.sources[s.name] = ctx_.source_specs.at(s.name);
    }
    request.dependencies = visible_dependencies(p);
    for (const PackageOutput& d : request.dependencies) {
      bool direct = std::any_of(p.depends.begin(), p.depends.end(),
                                [&](const specs::Ref& r) { return r.name == d.name; });
      if (direct) key_inputs.dependencies[d.name] = d.digest;
    }
    STRATA_TRY_ASSIGN(Digest key, cache_key(key_inputs));
    Json preimage = {{"key", cache_key_document(key_inputs)},
                     {"environment", ctx_.environment_detail}};
    std::optional<LastKey> previous;
    if (observer_.explained) previous = store_.last_key(plan_.spec.name, p.name);
    STRATA_TRY_ASSIGN(std::optional<PackageOutput> cached, store_.lookup(p.name, key));
    CacheExplanation explanation{.package = p.name,
                                 .key = key,
                                 .hit = cached.has_value(),
                                 .previous = std::move(previous),
                                 .preimage = preimage};
    if (cached) {
      if (observer_.explained) observer_.explained(explanation);
      STRATA_TRY(store_.remember(plan_.spec.name, p.name, key, preimage));
      // A registry that lacks it (pruned, or new) gets it from here too.
      if (ctx_.remote != nullptr) {
        STRATA_TRY(ctx_.remote->publish(p.name, key, preimage, cached->dir, cached->digest));
      }
      if (observer_.cached) observer_.cached(p.name, key);
      return *std::move(cached);
    }
    if (ctx_.remote != nullptr && ctx_.defer_remote_outputs && !is_dependency(p.name)) {
      STRATA_TRY_ASSIGN(std::optional<Digest> digest, ctx_.remote->lookup(p.name, key));
      if (digest) {
        explanation.remote_hit = true;
        if (observer_.explained) observer_.explained(explanation);
        STRATA_TRY(store_.remember(plan_.spec.name, p.name, key, preimage));
        if (observer_.fetched) observer_.fetched(p.name, key);
        return PackageOutput{.name = p.name,
                             .cache_key = key,
                             .digest = *digest,
                             .from_remote = true,
                             .deferred = true,
                             .preimage = preimage};
      }
    } else if (ctx_.remote != nullptr) {
      STRATA_TRY_ASSIGN(TempDir fetched, store_.make_work_dir(p.name));
      STRATA_TRY_ASSIGN(std::optional<Digest> digest,
                        ctx_.remote->fetch(p.name, key, fetched.path() + "/out"));
      if (digest) {
        explanation.remote_hit = true;
        if (observer_.explained) observer_.explained(explanation);
        STRATA_TRY_ASSIGN(PackageOutput output,
                          store_.commit(p.name, key, preimage, std::move(fetched)));
        STRATA_TRY(store_.remember(plan_.spec.name, p.name, key, preimage));
        output.from_remote = true;
        if (observer_.fetched) observer_.fetched(p.name, key);
        return output;
      }
    }
    if (ctx_.remote != nullptr && observer_.explained) {
      explanation.remote = ctx_.remote->entries_of(p.name, key);
    }
    if (observer_.explained) observer_.explained(explanation);
    if (observer_.started) observer_.started(p.name, key);
    STRATA_TRY_ASSIGN(TempDir work,
                      build_package(request, store_, runner_, observer_.step, &cancelled_));
    // Storing reads the output tree: an entry no layer can hold (a fifo, a name that is not
    // UTF-8) is named by its path in $DESTDIR, and this says whose $DESTDIR it is.
    STRATA_TRY_ASSIGN_CONTEXT(PackageOutput output,
                              store_.commit(p.name, key, preimage, std::move(work)),
                              fmt::format("package '{}': storing its output ($DESTDIR)", p.name));
    STRATA_TRY(store_.remember(plan_.spec.name, p.name, key, preimage));
    if (ctx_.remote != nullptr) {
      STRATA_TRY(ctx_.remote->publish(p.name, key, preimage, output.dir, output.digest));
    }
    if (observer_.built) observer_.built(p.name, output);
    return output;
  }

  const specs::Plan& plan_;
  const BuildContext& ctx_;
  OutputStore& store_;
  sandbox::Runner& runner_;
  const BuildObserver& observer_;
  std::vector<const specs::Package*> order_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, State> state_;
  std::map<std::string, PackageOutput> outputs_;
  std::optional<Error> error_;
  std::atomic<bool> cancelled_ = false;
};

}  // namespace

std::set<std::string> transitive_dependencies(const specs::Spec& spec,
                                              const specs::Package& package) {
  std::set<std::string> seen;
  std::vector<std::string> todo;
  for (const specs::Ref& d : package.depends) todo.push_back(d.name);
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second) continue;
    for (const specs::Package& q : spec.packages) {
      if (q.name != name) continue;
      for (const specs::Ref& d : q.depends) todo.push_back(d.name);
    }
  }
  return seen;
}

Result<std::map<std::string, PackageOutput>> build_packages(const specs::Plan& plan,
                                                            const BuildContext& context,
                                                            OutputStore& store,
                                                            sandbox::Runner& runner,
                                                            const BuildObserver& observer) {
  Scheduler scheduler(plan, context, store, runner, observer);
  return scheduler.run();
}

}  // namespace strata::builder::build
