#include "specs/graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace strata::specs {
namespace {

struct Edge {
  size_t to;
  const Ref* ref;
};

// Adjacency lists in declaration order; a name declared twice resolves to its first package.
std::vector<std::vector<Edge>> build_edges(const std::vector<Package>& packages) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < packages.size(); ++i) index.emplace(packages[i].name, i);
  std::vector<std::vector<Edge>> edges(packages.size());
  for (size_t i = 0; i < packages.size(); ++i) {
    for (const Ref& dep : packages[i].depends) {
      auto it = index.find(dep.name);
      if (it != index.end()) edges[i].push_back({it->second, &dep});
    }
  }
  return edges;
}

std::string cycle_text(const std::vector<Package>& packages, const std::vector<size_t>& path,
                       size_t from) {
  std::string text = "dependency cycle: ";
  for (size_t k = from; k < path.size(); ++k) text += packages[path[k]].name + " -> ";
  return text + packages[path[from]].name;
}

// Depth-first search in declaration order, iterative so a long chain of packages cannot
// overflow the stack. Every back edge closes one cycle.
std::vector<Diagnostic> find_cycles(const std::vector<Package>& packages,
                                    const std::vector<std::vector<Edge>>& edges) {
  enum class Color { kWhite, kGray, kBlack };
  std::vector<Color> color(packages.size(), Color::kWhite);
  std::vector<Diagnostic> cycles;
  for (size_t root = 0; root < packages.size(); ++root) {
    if (color[root] != Color::kWhite) continue;
    std::vector<size_t> path = {root};
    std::vector<size_t> next_edge = {0};
    color[root] = Color::kGray;
    while (!path.empty()) {
      size_t node = path.back();
      if (next_edge.back() == edges[node].size()) {
        color[node] = Color::kBlack;
        path.pop_back();
        next_edge.pop_back();
        continue;
      }
      const Edge& e = edges[node][next_edge.back()++];
      if (color[e.to] == Color::kGray) {
        size_t from = static_cast<size_t>(std::find(path.begin(), path.end(), e.to) - path.begin());
        cycles.push_back({e.ref->loc, cycle_text(packages, path, from)});
      } else if (color[e.to] == Color::kWhite) {
        color[e.to] = Color::kGray;
        path.push_back(e.to);
        next_edge.push_back(0);
      }
    }
  }
  return cycles;
}

}  // namespace

PackageOrder order_packages(const std::vector<Package>& packages) {
  std::vector<std::vector<Edge>> edges = build_edges(packages);
  PackageOrder result;
  result.cycles = find_cycles(packages, edges);
  // Kahn's algorithm with the ready set ordered by declaration index.
  std::vector<std::set<size_t>> dependents(packages.size());
  std::vector<size_t> pending(packages.size(), 0);
  for (size_t i = 0; i < packages.size(); ++i) {
    std::set<size_t> deps;
    for (const Edge& e : edges[i]) deps.insert(e.to);
    pending[i] = deps.size();
    for (size_t d : deps) dependents[d].insert(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < packages.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  while (!ready.empty()) {
    size_t next = *ready.begin();
    ready.erase(ready.begin());
    result.order.push_back(next);
    for (size_t d : dependents[next]) {
      if (--pending[d] == 0) ready.insert(d);
    }
  }
  return result;
}

}  // namespace strata::specs
