//===- Passes.td - g4c pass declarations -------------------*- tablegen -*-===//
//
// Part of g4c. Every g4c pass is declared here, alphabetically within its
// group, and implemented in <Name>.cpp through GEN_PASS_DEF.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_PASSES_PASSES_TD
#define G4C_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Model-level specialisation
//===----------------------------------------------------------------------===//

def ResolveKvSharingPass : Pass<"g4c-resolve-kv-sharing", "::mlir::ModuleOp"> {
  let summary = "Drop the k/v weights of layers that read another layer's KV";
  let description = [{
    KV-shared layers (E2B/E4B: every layer from num_hidden_layers -
    num_kv_shared_layers on) attend over their `kv_owner`'s cache. Their own
    k/v projections and k norm are in the checkpoint but never used. This
    pass removes them from the `gemma.attention` ops and then erases every
    `gemma.weight` that nothing references any more, so the weight packer
    never packs them.

    Algorithm: one rewrite per attention op with `kv_owner != layer` and k/v
    operands (rebuilt without them); the greedy driver erases the dead
    `gemma.weight_ref`s; unreferenced `gemma.weight` symbols are erased last.
  }];
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

def ExpandSoftcapPass : Pass<"g4c-expand-softcap"> {
  let summary = "Expand gemma.softcap into arith and math ops";
  let description = [{
    Rewrites `gemma.softcap %x {cap = c}` into the elementwise computation
    `c * tanh(x / c)` on tensors with the `arith` and `math` dialects, so that
    generic lowerings can handle it. The division (not a multiplication by
    1/c) keeps results bit-identical to the reference executor.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // G4C_PASSES_PASSES_TD
