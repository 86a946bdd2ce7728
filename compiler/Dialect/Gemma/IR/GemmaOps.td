//===- GemmaOps.td - Gemma dialect operations --------------*- tablegen -*-===//
//
// Part of g4c. Operations of the `gemma` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD
#define G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD

include "compiler/Dialect/Gemma/IR/GemmaBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// A weight operand: a ranked tensor of the checkpoint's float types.
def Gemma_WeightTensor : RankedTensorOf<[F32, F16, BF16]>;
/// An activation: f32 [T, d] (or other ranks for PLE and logits).
def Gemma_Activation : RankedTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

def Gemma_WeightOp : Gemma_Op<"weight", [Symbol]> {
  let summary = "a checkpoint tensor, by reference";
  let description = [{
    Declares one weight of the model: its symbol, its type (shape and the
    checkpoint's dtype), the tensor's name in the checkpoint and the file
    holding it. The data stays in the checkpoint; the weight packer streams
    it from there. Together the `gemma.weight` ops of a module are its
    weight table.

    ```mlir
    gemma.weight @layers_0_q_proj : tensor<2048x1536xbf16>
        = "model.language_model.layers.0.self_attn.q_proj.weight"
        in "model-00001-of-00002.safetensors"
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Gemma_WeightTensor>:$type,
                       StrAttr:$source, StrAttr:$file);
  let assemblyFormat = [{
    $sym_name `:` $type `=` $source `in` $file attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// FusedWeightOp
//===----------------------------------------------------------------------===//

def Gemma_FusedWeightOp : Gemma_Op<"fused_weight",
    [Symbol, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a weight the packer builds from checkpoint tensors";
  let description = [{
    The rows of the `gemma.weight`s `parts` stacked in order ([sum of
    rows, columns]), each column multiplied by the vector `scaled_by` when
    given (a folded RMSNorm weight; the type is then f32, the product's
    precision before packing). Made by `g4c-fuse-projections`; the packer
    computes it while streaming the parts.

    ```mlir
    gemma.fused_weight @"layers.0.qkv" : tensor<64x64xf32>
        = concat [@layers.0.k, @layers.0.v, @layers.0.q]
          scaled_by @layers.0.input_layernorm.weight
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Gemma_WeightTensor>:$type,
                       FlatSymbolRefArrayAttr:$parts,
                       OptionalAttr<FlatSymbolRefAttr>:$scaled_by);
  let assemblyFormat = [{
    $sym_name `:` $type `=` `concat` $parts (`scaled_by` $scaled_by^)?
    attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// WeightRefOp
//===----------------------------------------------------------------------===//

def Gemma_WeightRefOp : Gemma_Op<"weight_ref",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the value of a gemma.weight";
  let description = [{
    Produces the tensor a `gemma.weight` declares; its type must match.

    ```mlir
    %wq = gemma.weight_ref @layers_0_q_proj : tensor<2048x1536xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs Gemma_WeightTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// EmbedOp
//===----------------------------------------------------------------------===//

def Gemma_EmbedOp : Gemma_Op<"embed", [Pure]> {
  let summary = "token embedding times the rounded sqrt(d) scale";
  let description = [{
    `h0[t] = table[tokens[t]] * scale`, where `scale` is sqrt(d) rounded to
    the table's dtype (39.25 for d = 1536 in bf16).

    ```mlir
    %h0 = gemma.embed %tokens table(%E : tensor<262144x1536xbf16>)
        {scale = 3.925000e+01 : f64} : tensor<7xi32> -> tensor<7x1536xf32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[I32]>:$tokens, Gemma_WeightTensor:$table,
                       F64Attr:$scale);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $tokens `table` `(` $table `:` type($table) `)` attr-dict
    `:` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// PerLayerInputsOp
//===----------------------------------------------------------------------===//

def Gemma_PerLayerInputsOp : Gemma_Op<"per_layer_inputs", [Pure]> {
  let summary = "Per-Layer Embeddings: the [T, P] inputs of a range of layers";
  let description = [{
    E2B/E4B only. For the n layers `first_layer` .. `first_layer + n - 1`
    (the result is [T, n, P]; the table and projection hold all L layers)
    combines the token-identity part (that layer's P values of the token's
    row of the PLE table times the rounded sqrt(P) `table_scale`;
    multimodal placeholder ids read row 0) and the context part (`h0 @
    projection^T * d^-1/2` restricted to the layer's P rows, RMSNorm over P
    with `norm`): `(context + token) * 2^-1/2`.

    The importer writes one op per layer (n = 1, the architecture's
    per-layer view); `g4c-fuse-per-layer-inputs` merges them into one op
    for all layers, so the token's row is gathered once and the context
    projection computed once per step.

    ```mlir
    %ple = gemma.per_layer_inputs %tokens, %h0 table(%t : tensor<262144x8960xbf16>)
        projection(%p : tensor<8960x1536xbf16>) norm(%n : tensor<256xbf16>)
        {table_scale = 1.600000e+01 : f64}
        : tensor<7xi32>, tensor<7x1536xf32> -> tensor<7x35x256xf32>
    %ple3 = gemma.per_layer_inputs %tokens, %h0 table(%t : tensor<262144x8960xbf16>)
        projection(%p : tensor<8960x1536xbf16>) norm(%n : tensor<256xbf16>)
        {first_layer = 3 : i64, table_scale = 1.600000e+01 : f64}
        : tensor<7xi32>, tensor<7x1536xf32> -> tensor<7x1x256xf32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[I32]>:$tokens, Gemma_Activation:$embeddings,
                       Gemma_WeightTensor:$table, Gemma_WeightTensor:$projection,
                       Gemma_WeightTensor:$norm, F64Attr:$table_scale,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon,
                       DefaultValuedAttr<I64Attr, "0">:$first_layer);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $tokens `,` $embeddings `table` `(` $table `:` type($table) `)`
    `projection` `(` $projection `:` type($projection) `)`
    `norm` `(` $norm `:` type($norm) `)` attr-dict
    `:` type($tokens) `,` type($embeddings) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The layers the result covers.
    int64_t getNumLayers() {
      return ::llvm::cast<::mlir::RankedTensorType>(getResult().getType())
          .getShape()[1];
    }
  }];
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def Gemma_AttentionOp : Gemma_Op<"attention",
    [AttrSizedOperandSegments, AllTypesMatch<["input", "result"]>]> {
  let summary = "one layer's self-attention, output projection included";
  let description = [{
    Attention of decoder layer `layer` over its normed input (§2.4): q
    projection, per-head q RMSNorm, RoPE (`rope_theta`, the first
    `rotary_dims` / 2 pairs of each head rotate); K/V from this layer's own
    projections (k RMSNorm + RoPE, no-scale v RMSNorm; with `k_eq_v` V comes
    from the K projection) or, when `kv_owner` names an earlier layer, that
    layer's cached K/V; GQA with scaling 1.0; causal, and on sliding layers
    only keys with `q - k < window`; then `o_proj`. Positions are
    `start + t`. The op reads and appends to the KV cache of `kv_owner`, so
    it is not pure.

    ```mlir
    %o = gemma.attention %a at %start q(%wq : tensor<64x64xbf16>)
        o(%wo : tensor<64x64xbf16>) q_norm(%qn : tensor<32xbf16>)
        k(%wk : tensor<32x64xbf16>) v(%wv : tensor<32x64xbf16>)
        k_norm(%kn : tensor<32xbf16>)
        {layer = 2 : i64, kind = #gemma<attention_kind<full>>, head_dim = 32 : i64,
         num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64,
         rope_theta = 1.000000e+06 : f64, rotary_dims = 8 : i64,
         kv_owner = 2 : i64, k_eq_v = false} : tensor<5x64xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Index:$start,
                       Gemma_WeightTensor:$q_proj, Gemma_WeightTensor:$o_proj,
                       Gemma_WeightTensor:$q_norm,
                       Optional<Gemma_WeightTensor>:$k_proj,
                       Optional<Gemma_WeightTensor>:$v_proj,
                       Optional<Gemma_WeightTensor>:$k_norm,
                       I64Attr:$layer, Gemma_AttentionKindAttr:$kind,
                       I64Attr:$head_dim, I64Attr:$num_heads,
                       I64Attr:$num_kv_heads, I64Attr:$window,
                       F64Attr:$rope_theta, I64Attr:$rotary_dims,
                       I64Attr:$kv_owner, BoolAttr:$k_eq_v,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `at` $start
    `q` `(` $q_proj `:` type($q_proj) `)`
    `o` `(` $o_proj `:` type($o_proj) `)`
    `q_norm` `(` $q_norm `:` type($q_norm) `)`
    (`k` `(` $k_proj^ `:` type($k_proj) `)`)?
    (`v` `(` $v_proj^ `:` type($v_proj) `)`)?
    (`k_norm` `(` $k_norm^ `:` type($k_norm) `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Whether this layer computes and caches its own K/V.
    bool ownsKv() { return getKvOwner() == getLayer(); }
  }];
}

//===----------------------------------------------------------------------===//
// Specialised attention: KvProjectionOp, CachedAttentionOp, KvStoreOp
//===----------------------------------------------------------------------===//

def Gemma_KvProjectionOp : Gemma_Op<"kv_projection", [Pure]> {
  let summary = "a KV-owning layer's keys and values for the current tokens";
  let description = [{
    The K/V half of `gemma.attention` (§2.4), made explicit by
    `g4c-specialize-attention`: `k = RoPE(RMSNorm(a @ k_proj^T; k_norm))`,
    `v = RMSNorm(a @ v_proj^T)` without scale (on `k_eq_v` layers the K
    projection feeds V too), for positions `start + t`. `inverse_frequencies`
    are the RoPE frequencies, a compile-time constant (the rotary pairs of
    each head; the remaining pairs pass through). The result holds K then V:
    [2, T, num_kv_heads, head_dim].

    ```mlir
    %kv = gemma.kv_projection %a at %start k(%wk : tensor<32x64xbf16>)
        v(%wv : tensor<32x64xbf16>) k_norm(%kn : tensor<32xbf16>)
        rope(%f : tensor<16xf64>) {layer = 0 : i64, k_eq_v = false}
        : tensor<5x64xf32> -> tensor<2x5x1x32xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Index:$start,
                       Gemma_WeightTensor:$k_proj,
                       Optional<Gemma_WeightTensor>:$v_proj,
                       Gemma_WeightTensor:$k_norm,
                       1DTensorOf<[F64]>:$inverse_frequencies, I64Attr:$layer,
                       BoolAttr:$k_eq_v,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `at` $start `k` `(` $k_proj `:` type($k_proj) `)`
    (`v` `(` $v_proj^ `:` type($v_proj) `)`)?
    `k_norm` `(` $k_norm `:` type($k_norm) `)`
    `rope` `(` $inverse_frequencies `:` type($inverse_frequencies) `)`
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumKvHeads() { return getType().getShape()[2]; }
    int64_t getHeadDim() { return getType().getShape()[3]; }
  }];
}

def Gemma_CachedAttentionOp : Gemma_Op<"cached_attention",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "attention over a planned KV cache plus the current tokens";
  let description = [{
    The query half of `gemma.attention` after `g4c-specialize-attention`:
    q projection, q RMSNorm, RoPE with `inverse_frequencies`, GQA with
    scaling 1.0, causal and, with `window > 0`, only keys with
    `q - k < window`; then `o_proj`. Keys and values at positions before
    `start` come from the cache of layer `kv_owner` (`cache_slots` slots,
    position p in slot p % cache_slots: a ring when the cache is smaller
    than the context), those of the current tokens from `kv` (the owner's
    `gemma.kv_projection`). Reads the cache; does not write it.

    ```mlir
    %o = gemma.cached_attention %a, %kv at %start q(%wq : tensor<64x64xbf16>)
        o(%wo : tensor<64x64xbf16>) q_norm(%qn : tensor<32xbf16>)
        rope(%f : tensor<16xf64>)
        {layer = 1 : i64, kv_owner = 0 : i64, num_heads = 2 : i64,
         window = 4 : i64, cache_slots = 4 : i64}
        : tensor<5x64xf32>, tensor<2x5x1x32xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_Activation:$kv,
                       Index:$start, Gemma_WeightTensor:$q_proj,
                       Gemma_WeightTensor:$o_proj, Gemma_WeightTensor:$q_norm,
                       1DTensorOf<[F64]>:$inverse_frequencies,
                       I64Attr:$layer, I64Attr:$kv_owner, I64Attr:$num_heads,
                       I64Attr:$window, I64Attr:$cache_slots,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `,` $kv `at` $start
    `q` `(` $q_proj `:` type($q_proj) `)`
    `o` `(` $o_proj `:` type($o_proj) `)`
    `q_norm` `(` $q_norm `:` type($q_norm) `)`
    `rope` `(` $inverse_frequencies `:` type($inverse_frequencies) `)`
    attr-dict `:` type($input) `,` type($kv)
  }];
  let hasVerifier = 1;
}

def Gemma_KvStoreOp : Gemma_Op<"kv_store"> {
  let summary = "append the current tokens' K/V to a layer's cache";
  let description = [{
    Writes `kv` (a `gemma.kv_projection` result) for positions `start + t`
    into slot `(start + t) % cache_slots` of layer `layer`'s cache.
    `g4c-specialize-attention` places it after the last attention that
    reads the layer, so a ring of exactly the window never loses a position
    a query of the same chunk still sees.

    ```mlir
    gemma.kv_store %kv at %start {layer = 0 : i64, cache_slots = 4 : i64}
        : tensor<2x5x1x32xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$kv, Index:$start, I64Attr:$layer,
                       I64Attr:$cache_slots);
  let assemblyFormat = "$kv `at` $start attr-dict `:` type($kv)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// MLPOp
//===----------------------------------------------------------------------===//

def Gemma_MLPOp : Gemma_Op<"mlp",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "gated GELU (tanh) feed-forward";
  let description = [{
    `(gelu_tanh(x @ gate^T) * (x @ up^T)) @ down^T`, width I (§2.5).

    ```mlir
    %f = gemma.mlp %x gate(%g : tensor<128x64xbf16>) up(%u : tensor<128x64xbf16>)
        down(%d : tensor<64x128xbf16>) : tensor<5x64xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_WeightTensor:$gate,
                       Gemma_WeightTensor:$up, Gemma_WeightTensor:$down);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `gate` `(` $gate `:` type($gate) `)` `up` `(` $up `:` type($up) `)`
    `down` `(` $down `:` type($down) `)` attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

def Gemma_MoEOp : Gemma_Op<"moe",
    [Pure, AllTypesMatch<["input", "router_input", "result"]>]> {
  let summary = "mixture of experts with Gemma 4's router";
  let description = [{
    §2.6: the router normalises `router_input` (the un-normalised residual)
    without scale, multiplies by `router_scale * d^-1/2`, projects to E
    logits, softmaxes, keeps the `top_k` largest, renormalises them and
    multiplies by `per_expert_scale`; each chosen expert is a gated GELU of
    width I on `input` (`gate_up` [E, 2I, d], `down` [E, d, I]).

    ```mlir
    %e = gemma.moe %xn router_input(%x) router(%r : tensor<8x64xbf16>)
        router_scale(%rs : tensor<64xbf16>) per_expert_scale(%pe : tensor<8xbf16>)
        gate_up(%gu : tensor<8x64x64xbf16>) down(%dn : tensor<8x64x32xbf16>)
        {top_k = 2 : i64} : tensor<5x64xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_Activation:$router_input,
                       Gemma_WeightTensor:$router, Gemma_WeightTensor:$router_scale,
                       Gemma_WeightTensor:$per_expert_scale,
                       Gemma_WeightTensor:$gate_up, Gemma_WeightTensor:$down,
                       I64Attr:$top_k,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `router_input` `(` $router_input `)`
    `router` `(` $router `:` type($router) `)`
    `router_scale` `(` $router_scale `:` type($router_scale) `)`
    `per_expert_scale` `(` $per_expert_scale `:` type($per_expert_scale) `)`
    `gate_up` `(` $gate_up `:` type($gate_up) `)`
    `down` `(` $down `:` type($down) `)` attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// PerLayerInputOp
//===----------------------------------------------------------------------===//

def Gemma_PerLayerInputOp : Gemma_Op<"per_layer_input",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "inject one layer's PLE slice into the residual";
  let description = [{
    §2.3: `x + RMSNorm((gelu_tanh(x @ gate^T) * ple[:, index, :]) @
    projection^T; norm)`: `index` picks the layer's slice of
    `per_layer_inputs` (0 for a one-layer `gemma.per_layer_inputs`, the
    layer itself for the fused one).

    ```mlir
    %y = gemma.per_layer_input %x, %ple gate(%g : tensor<16x64xbf16>)
        projection(%p : tensor<64x16xbf16>) norm(%n : tensor<64xbf16>)
        {index = 3 : i64} : tensor<5x64xf32>, tensor<5x6x16xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_Activation:$per_layer_inputs,
                       Gemma_WeightTensor:$gate, Gemma_WeightTensor:$projection,
                       Gemma_WeightTensor:$norm, I64Attr:$index,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `,` $per_layer_inputs `gate` `(` $gate `:` type($gate) `)`
    `projection` `(` $projection `:` type($projection) `)`
    `norm` `(` $norm `:` type($norm) `)` attr-dict
    `:` type($input) `,` type($per_layer_inputs)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LayerScaleOp
//===----------------------------------------------------------------------===//

def Gemma_LayerScaleOp : Gemma_Op<"layer_scale",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "multiply the residual stream by the learned layer scalar";
  let description = [{
    ```mlir
    %y = gemma.layer_scale %x scalar(%s : tensor<1xbf16>) : tensor<5x64xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_WeightTensor:$scalar);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `scalar` `(` $scalar `:` type($scalar) `)` attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LogitsOp
//===----------------------------------------------------------------------===//

def Gemma_LogitsOp : Gemma_Op<"logits", [Pure]> {
  let summary = "final norm, tied LM head and soft cap";
  let description = [{
    §2.9: `softcap * tanh((RMSNorm(x; norm) @ embedding^T) / softcap)`, the
    LM head being the unscaled embedding table. Without `softcap`, no cap.
    A one-row result over a longer input holds the last row's logits only
    (what generation reads after a prompt), and the other rows cost nothing.

    ```mlir
    %z = gemma.logits %x norm(%n : tensor<64xbf16>) embedding(%E : tensor<512x64xbf16>)
        {softcap = 3.000000e+01 : f64} : tensor<5x64xf32> -> tensor<5x512xf32>
    ```
  }];
  let arguments = (ins Gemma_Activation:$input, Gemma_WeightTensor:$norm,
                       Gemma_WeightTensor:$embedding,
                       OptionalAttr<F64Attr>:$softcap,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Gemma_Activation:$result);
  let assemblyFormat = [{
    $input `norm` `(` $norm `:` type($norm) `)`
    `embedding` `(` $embedding `:` type($embedding) `)` attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

def Gemma_RMSNormOp : Gemma_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the innermost dimension";
  let description = [{
    Normalises every row of `input` over its innermost dimension:
    `y = x * (mean(x^2) + epsilon)^-1/2`, then multiplies by the optional
    `weight` (a plain multiplier, not Gemma 3's `1 + w`). Without a weight
    this is Gemma 4's `RMSNormNoScale` (used for `v_norm` and the MoE router).

    ```mlir
    %y = gemma.rms_norm %x weight(%w : tensor<1536xf32>) : tensor<7x1536xf32>
    %v = gemma.rms_norm %x {epsilon = 1.0e-05 : f64} : tensor<7x256xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    Optional<RankedTensorOf<[AnyFloat]>>:$weight,
    DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon
  );
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `:` type($weight) `)`)? attr-dict
    `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// SoftcapOp
//===----------------------------------------------------------------------===//

def Gemma_SoftcapOp : Gemma_Op<"softcap", [Pure, SameOperandsAndResultType]> {
  let summary = "smooth clamp of logits: cap * tanh(x / cap)";
  let description = [{
    Applies Gemma's logit soft cap elementwise. Gemma 4 caps the final logits
    at 30 (`final_logit_softcapping`); attention logits are not capped.

    ```mlir
    %z = gemma.softcap %logits {cap = 30.0 : f64} : tensor<1x262144xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[AnyFloat]>:$input, F64Attr:$cap);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD
