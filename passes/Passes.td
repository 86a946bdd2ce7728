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

def PlanMemoryPass : Pass<"g4c-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Give every activation a static arena offset; size the KV caches";
  let description = [{
    Plans the one arena a compiled model runs in.

    KV caches: every layer that owns its KV gets K and V caches of
    `slots x num_kv_heads x head_dim` elements of `kv-dtype`, where slots is
    W + T - 1 for sliding layers (a ring buffer: the window, plus room for a
    prefill chunk of T = `gemma.prefill_chunk` tokens to be written before
    its queries read; W for decode-only modules) and the context length
    (`gemma.context_length` of the module) for full layers, at most the
    context either way; KV-shared layers get none. The caches are placed one
    after another from offset 0.

    Activations: in each entry function, every tensor an op produces (weights
    excluded: they stay mapped) lives from its definition to its last use;
    values are placed first-fit by definition order at 64-byte aligned
    offsets after the KV caches, reusing the space of dead values. Entry
    points share the activation region (they never run at once), so it is
    as large as the largest one needs.

    Results: `gemma.arena_offset` on each planned op, and the module
    attribute `gemma.memory_plan` with the byte counts (activations, KV in
    total and per layer, arena) and each cache's offset and slot count. With `report`, the plan is also emitted as
    a remark. `no-ring-buffers` and `no-kv-sharing` size the caches as if
    sliding layers kept full caches or no layer shared, to show what the
    specialisations save.
  }];
  let options = [
    Option<"kvDType", "kv-dtype", "std::string", "\"f32\"",
           "element type of the KV caches: f32, f16 or bf16">,
    Option<"report", "report", "bool", "false",
           "emit the plan as a remark">,
    Option<"noRingBuffers", "no-ring-buffers", "bool", "false",
           "what-if: sliding layers keep a cache of the whole context">,
    Option<"noKvSharing", "no-kv-sharing", "bool", "false",
           "what-if: every layer keeps its own cache">,
  ];
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
