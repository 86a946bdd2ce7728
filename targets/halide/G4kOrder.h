//===- G4kOrder.h - Halide algorithms in g4k.h's rounding order -*- C++ -*-===//
//
// Part of g4c. The object backend swaps g4k.h kernels for Halide ones and
// must round alike, bit for bit: pieces of algorithm that several
// generators share, written in the order the g4k.h templates compute.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_TARGETS_HALIDE_G4KORDER_H
#define G4C_TARGETS_HALIDE_G4KORDER_H

#include "Halide.h"

#include <string>
#include <vector>

namespace g4c::halide {

/// g4k.h's kLanes: the partial sums of g4k::dot and g4k::sum_squares.
constexpr int kLanes = 16;

/// sum_i square(i, rest...) over i < extent in g4k::sum_squares's order:
/// kLanes partial sums over whole blocks of kLanes, the tail summed alone,
/// then the tail plus each partial sum in turn. The Funcs are the caller's
/// to schedule (partial's first dimension is the lane).
struct SumInG4kOrder {
  Halide::Func partial, tail, sum;
  /// partial's update runs over these blocks of kLanes columns.
  Halide::RDom blocks;

  SumInG4kOrder(const std::string &name, Halide::Func square,
                Halide::Expr extent, const std::vector<Halide::Var> &rest)
      : partial(name + "_partial"), tail(name + "_tail"), sum(name) {
    using namespace Halide;
    Var lane(name + "_lane");
    std::vector<Expr> restArgs(rest.begin(), rest.end());
    auto at = [&](Expr i) {
      std::vector<Expr> args{i};
      args.insert(args.end(), restArgs.begin(), restArgs.end());
      return args;
    };
    std::vector<Var> laneVars{lane};
    laneVars.insert(laneVars.end(), rest.begin(), rest.end());
    std::vector<Expr> laneArgs(laneVars.begin(), laneVars.end());
    Expr body = extent / kLanes * kLanes;
    blocks = RDom(0, body / kLanes, name + "_blocks");
    RDom tailColumns(body, extent - body, name + "_tail_columns"),
        lanes(0, kLanes, name + "_lanes");
    partial(laneVars) = 0.0f;
    partial(laneVars) += square(at(blocks * kLanes + lane));
    tail(rest) = 0.0f;
    tail(rest) += square(at(tailColumns));
    std::vector<Expr> partialAt{Expr(lanes)};
    partialAt.insert(partialAt.end(), restArgs.begin(), restArgs.end());
    sum(rest) = tail(restArgs);
    sum(rest) += partial(partialAt);
  }

  /// Computes the sums once per |loop| of |consumer|, partial sums
  /// vectorised over the lanes.
  void computeAt(Halide::Func consumer, Halide::Var loop) {
    sum.compute_at(consumer, loop);
    tail.compute_at(consumer, loop);
    partial.compute_at(consumer, loop).vectorize(partial.args()[0]);
    partial.update().vectorize(partial.args()[0]);
  }
};

/// A bfloat16 value stored as its bits (the top half of a float32).
inline Halide::Expr bf16ToFloat(Halide::Expr bits) {
  using namespace Halide;
  return reinterpret<float>(cast<uint32_t>(bits) << 16);
}

} // namespace g4c::halide

#endif // G4C_TARGETS_HALIDE_G4KORDER_H
