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

def SpecializeAttentionPass : Pass<"g4c-specialize-attention",
                                  "::mlir::ModuleOp"> {
  let summary = "Split attention into K/V projection, cached attention and "
                "cache store; ring buffers for sliding layers";
  let description = [{
    Rewrites every `gemma.attention` of every function:

    * a KV-owning layer gets a `gemma.kv_projection` (the current tokens'
      normed, rotated K and normed V);
    * every layer gets a `gemma.cached_attention` reading its owner's cache
      for earlier positions and the owner's `kv_projection` for the current
      tokens (KV-shared layers read their owner's);
    * a `gemma.kv_store` writes the owner's K/V into its cache after the
      last attention that reads them.

    Cache sizes become attributes: a sliding layer's cache is a ring of
    exactly `window` slots (position p in slot p % window; the store after
    the last reader means a chunk never overwrites a position one of its
    queries still sees, and reads need no reordering because softmax does
    not depend on the order of keys), a full layer's a linear cache of
    `gemma.context_length` slots. The RoPE inverse frequencies
    `theta^(-2j / head_dim)` of the rotary pairs become `arith.constant`s
    (identical tables CSE into one), so the kernels never compute them;
    full layers with proportional RoPE carry only their rotary pairs.
    K=V layers project once (`k_eq_v` on the projection).

    Without this pass `gemma.attention` is lowered as it stands: linear
    caches of the context length for every layer, frequencies computed at
    run time.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def FusePerLayerInputsPass : Pass<"g4c-fuse-per-layer-inputs",
                                 "::mlir::ModuleOp"> {
  let summary = "Compute the per-layer inputs of all layers in one op";
  let description = [{
    The importer writes one `gemma.per_layer_inputs` per layer (the
    architecture's per-layer view: each gathers its P values of the token's
    PLE row and projects the embeddings through its P rows of the context
    projection). This pass merges the ops of a function that read the same
    tokens, embeddings and weights into one covering all their layers,
    placed where the first was: per step the token's row is gathered once
    (one contiguous L x P read), the context projection is one matrix
    product, the normalise-and-combine one loop; every
    `gemma.per_layer_input` then reads its layer's slice (its `index`
    shifted by its old op's first layer). Ops with users other than
    `gemma.per_layer_input` are left alone.
  }];
}

def PlanMemoryPass : Pass<"g4c-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Give every activation a static arena offset; size the KV caches";
  let description = [{
    Plans the one arena a compiled model runs in.

    KV caches: every layer that owns its KV gets K and V caches of
    `slots x num_kv_heads x head_dim` elements of `kv-dtype`: the slots a
    `gemma.kv_store` names (after `g4c-specialize-attention`: the window for
    sliding layers, the context for full ones) or, for an unspecialised
    `gemma.attention`, the context length (`gemma.context_length` of the
    module). KV-shared layers get none. The caches are placed one after
    another from offset 0, in layer order.

    Activations: in each entry function, every tensor an op produces (weights
    excluded: they stay mapped) lives from its definition to its last use;
    values (constants, weights and the returned logits, which the caller's
    buffer receives, excluded) are placed first-fit by
    definition order at 64-byte aligned
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
           "element type of the KV caches: f32, f16, bf16 or i8 (with a f32 "
           "scale per head per slot)">,
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

def LowerToKernelsPass : Pass<"g4c-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Rewrite planned entry functions into g4k kernel calls on "
                "arena buffers";
  let description = [{
    After `g4c-plan-memory`. Every function becomes a kernel-level function
    `(weights: memref<?xi8>, arena: memref<?xi8>, tokens: memref<Txi32>,
    start: index, logits: memref<TxVxf32>)` with the unit attribute
    `g4k.entry`: each tensor the plan placed is a `memref.view` of the arena
    at its offset (named by `g4k.name`), the returned logits are written to
    the `logits` argument, weights are `g4k.weight` buffers, constant tables
    (RoPE frequencies) `memref.global`s, and each gemma op is one or more
    g4k kernel calls: attention as q projection, head norms, RoPE, attend
    over the ring or linear cache (plus the current tokens' K/V), output
    projection; the MLP as two projections, gated GELU and the down
    projection; the per-layer inputs as one context projection and one
    combine that gathers each token's whole PLE row once.

    Temporaries inside a gemma op live in one scratch region after the
    planned arena, reused by every op; `gemma.memory_plan` gains
    `scratch_offset` and `scratch_bytes`, and `arena_bytes` includes it.
  }];
  let dependentDialects = ["::g4c::kernel::G4kDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def FuseProjectionsPass : Pass<"g4c-fuse-projections", "::mlir::ModuleOp"> {
  let summary = "Stack projections of one input into one matmul; fold norm "
                "weights into the following projections";
  let description = [{
    On kernel-level functions (after `g4c-lower-to-kernels`), where every
    projection is an explicit `g4k.linear` on arena buffers:

    * Linears that read the same input buffer (a layer's q, k and v
      projections of the normed input; the MLP's gate and up) become one
      `g4k.fused_linear` over a `gemma.fused_weight` that stacks their
      weights, at the first one's place. A later linear joins only if the
      input is not written in between and nothing in between reads or
      writes its output (the kernels' declared memory effects on the
      statically known arena ranges decide).
    * With `fold-norms`, an RMSNorm's weight g moves into the columns of the
      linears that read its output: `W (x_n * g) = (W diag(g)) x_n`, so the
      norm runs without a weight and the packer writes `W diag(g)` (in f32
      before converting to the packed format). This holds only when every
      reader of the normed values, until they are overwritten, is such a
      linear; it does not apply to the post-attention / post-feed-forward
      norms (their output feeds a residual add), the q/k norms (RoPE
      follows), the MoE input (the expert kernel reads it), or the final
      norm (its linear is the tied embedding, which the embedding lookup
      reads unscaled: folding would pack the table twice). The driver
      folds only for f32 packing: rounding `W diag(g)` to bf16 is an error
      the unfolded model does not make.
  }];
  let options = [
    Option<"foldNorms", "fold-norms", "bool", "true",
           "fold RMSNorm weights into the linears that read the norm">,
  ];
}

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
