//===- KernelOps.td - g4k kernel-level dialect -------------*- tablegen -*-===//
//
// Part of g4c. The `g4k` dialect: calls of g4c's shape-specialised kernels on
// arena and weight buffers, the IR the backends emit from.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_KERNEL_IR_KERNELOPS_TD
#define G4C_DIALECT_KERNEL_IR_KERNELOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def G4k_Dialect : Dialect {
  let name = "g4k";
  let summary = "shape-specialised kernel calls on static buffers";
  let description = [{
    The kernel level of g4c (produced by `g4c-lower-to-kernels`): a function
    per entry point whose buffers are `memref.view`s of one arena and of the
    packed weights at constant offsets, and whose body is a straight line of
    `g4k` ops, each one call of a kernel at constant shapes (the C++ backend
    instantiates `g4k.h` templates, the object backend links generated
    kernels). Every op reads its inputs and writes its outputs in place; no
    op allocates. Buffers are row-major; a `[T, N]` operand may be a strided
    view (`memref.subview`) whose rows are further apart than N.
  }];
  let cppNamespace = "::g4c::kernel";
}

class G4k_Op<string mnemonic, list<Trait> traits = []>
    : Op<G4k_Dialect, mnemonic, traits>;

def G4k_F32Buffer : MemRefOf<[F32]>;
def G4k_WeightBuffer : MemRefOf<[F32, F16, BF16]>;
def G4k_KvCacheBuffer : MemRefOf<[F32, I8]>;

// Operand roles: what a kernel reads, writes, or both (in place). Passes
// reason about the arena through these effects (g4c-fuse-projections).
class G4k_In<Constraint type> : Arg<type, "read", [MemRead]>;
class G4k_Out<Constraint type> : Arg<type, "written", [MemWrite]>;
class G4k_InOut<Constraint type> : Arg<type, "read and written", [MemRead, MemWrite]>;

def G4k_WeightOp : G4k_Op<"weight", [Pure]> {
  let summary = "a packed weight, by its gemma.weight symbol";
  let description = [{
    The buffer of one packed weight; the backend resolves the symbol to its
    offset in the .g4w file (the packer decides the offsets after the
    pipeline).

    ```mlir
    %w = g4k.weight @layers_0_q_proj : memref<64x64xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs G4k_WeightBuffer:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def G4k_EmbedOp : G4k_Op<"embed"> {
  let summary = "out[t] = table[tokens[t]] * scale";
  let arguments = (ins G4k_In<MemRefOf<[I32]>>:$tokens, G4k_In<G4k_WeightBuffer>:$table,
                       G4k_Out<G4k_F32Buffer>:$out, F64Attr:$scale);
  let assemblyFormat = [{
    $tokens `,` $table `->` $out attr-dict `:` type($tokens) `,` type($table)
    `->` type($out)
  }];
  let hasVerifier = 1;
}

def G4k_LinearOp : G4k_Op<"linear"> {
  let summary = "y[t] = x[t] @ w^T (weights [out, in])";
  let description = [{
    Matrix-vector (one row) or matrix-matrix product with the weight in
    nn.Linear's [out, in] layout; `x` is [rows, in] (any leading shape
    whose innermost dimension is `in`), `y` [rows, out].

    ```mlir
    g4k.linear %x, %w -> %y : memref<3x64xf32>, memref<32x64xbf16> -> memref<3x32xf32>
    ```
  }];
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_In<G4k_WeightBuffer>:$w,
                       G4k_Out<G4k_F32Buffer>:$y);
  let assemblyFormat = [{
    $x `,` $w `->` $y attr-dict `:` type($x) `,` type($w) `->` type($y)
  }];
  let hasVerifier = 1;
}

def G4k_FusedLinearOp : G4k_Op<"fused_linear"> {
  let summary = "several linears of one input through one stacked weight";
  let description = [{
    `w` stacks the weights of the outputs along its rows ([sum of widths,
    in]); `ys[i]` ([rows, width_i]) receives `x @ w[rows of i]^T`. One call
    streams the whole stacked weight once (g4c-fuse-projections: q|k|v,
    gate|up).

    ```mlir
    g4k.fused_linear %x, %w -> %k, %v, %q
        : memref<3x64xf32>, memref<64x64xf32>
        -> memref<3x16xf32>, memref<3x16xf32>, memref<3x32xf32>
    ```
  }];
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_In<G4k_WeightBuffer>:$w,
                       G4k_Out<Variadic<G4k_F32Buffer>>:$ys);
  let assemblyFormat = [{
    $x `,` $w `->` $ys attr-dict `:` type($x) `,` type($w) `->` type($ys)
  }];
  let hasVerifier = 1;
}

def G4k_RMSNormOp : G4k_Op<"rms_norm"> {
  let summary = "RMSNorm of every row (innermost dimension), optional weight";
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_In<Optional<G4k_WeightBuffer>>:$weight,
                       G4k_Out<G4k_F32Buffer>:$y, F64Attr:$epsilon);
  let assemblyFormat = [{
    $x (`weight` `(` $weight^ `:` type($weight) `)`)? `->` $y attr-dict
    `:` type($x) `->` type($y)
  }];
  let hasVerifier = 1;
}

def G4k_RopeFrequenciesOp : G4k_Op<"rope_frequencies"> {
  let summary = "out[j] = theta^(-2j / head_dim), computed at run time";
  let arguments = (ins G4k_Out<MemRefOf<[F64]>>:$out, F64Attr:$theta, I64Attr:$head_dim);
  let assemblyFormat = "`->` $out attr-dict `:` type($out)";
}

def G4k_RopeOp : G4k_Op<"rope"> {
  let summary = "rotate-half RoPE in place, position start + t";
  let description = [{
    `x` is [T, heads, head_dim]; the first `frequencies` pairs (j, j +
    head_dim / 2) of every head rotate by `(start + t) * frequencies[j]`.
  }];
  let arguments = (ins G4k_InOut<G4k_F32Buffer>:$x, G4k_In<MemRefOf<[F64]>>:$frequencies,
                       Index:$start);
  let assemblyFormat = [{
    $x `,` $frequencies `at` $start attr-dict `:` type($x) `,`
    type($frequencies)
  }];
  let hasVerifier = 1;
}

def G4k_AttendOp : G4k_Op<"attend", [AttrSizedOperandSegments]> {
  let summary = "softmax(q k^T) v over a cache and the current tokens";
  let description = [{
    For query t (position p = start + t) and head h: keys and values of the
    positions max(0, p - window + 1) (0 when window is 0) .. p, read from
    the cache (`k_cache`/`v_cache` [slots, kv heads, head_dim], position q
    in slot q % slots) for q < start when `fresh_k`/`fresh_v`
    ([T, kv heads, head_dim], position start + i in row i) are given, and
    for every position otherwise. GQA, scaling 1.0. `scores` is scratch of
    at least slots + T floats. `out` is [T, heads, head_dim]. An int8 cache
    comes with `k_scales`/`v_scales` [slots, kv heads]: the f32 scale of
    each head at each slot.
  }];
  let arguments = (ins G4k_In<G4k_F32Buffer>:$q,
                       G4k_In<G4k_KvCacheBuffer>:$k_cache,
                       G4k_In<G4k_KvCacheBuffer>:$v_cache,
                       G4k_In<Optional<G4k_F32Buffer>>:$k_scales,
                       G4k_In<Optional<G4k_F32Buffer>>:$v_scales,
                       G4k_In<Optional<G4k_F32Buffer>>:$fresh_k,
                       G4k_In<Optional<G4k_F32Buffer>>:$fresh_v,
                       G4k_InOut<G4k_F32Buffer>:$scores, G4k_Out<G4k_F32Buffer>:$out,
                       Index:$start, I64Attr:$window);
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache (`scales` `(` $k_scales^ `,` $v_scales `:`
    type($k_scales) `,` type($v_scales) `)`)? (`fresh` `(` $fresh_k^ `,`
    $fresh_v `:` type($fresh_k) `,` type($fresh_v) `)`)? `scores` `(`
    $scores `:` type($scores) `)` `at` $start `->` $out attr-dict `:`
    type($q) `,` type($k_cache) `,` type($v_cache) `->` type($out)
  }];
  let hasVerifier = 1;
}

def G4k_KvStoreOp : G4k_Op<"kv_store",
    [AllTypesMatch<["k", "v"]>, AllTypesMatch<["k_cache", "v_cache"]>,
     AttrSizedOperandSegments]> {
  let summary = "write positions start + t into slot (start + t) % slots";
  let description = [{
    An int8 cache is written with one symmetric scale per head per slot
    (absmax / 127) into `k_scales`/`v_scales` [slots, kv heads].
  }];
  let arguments = (ins G4k_In<G4k_F32Buffer>:$k, G4k_In<G4k_F32Buffer>:$v,
                       G4k_Out<G4k_KvCacheBuffer>:$k_cache,
                       G4k_Out<G4k_KvCacheBuffer>:$v_cache,
                       G4k_Out<Optional<G4k_F32Buffer>>:$k_scales,
                       G4k_Out<Optional<G4k_F32Buffer>>:$v_scales,
                       Index:$start);
  let assemblyFormat = [{
    $k `,` $v `at` $start `->` $k_cache `,` $v_cache (`scales` `(`
    $k_scales^ `,` $v_scales `:` type($k_scales) `,` type($v_scales) `)`)?
    attr-dict `:` type($k) `->` type($k_cache)
  }];
  let hasVerifier = 1;
}

def G4k_CopyOp : G4k_Op<"copy"> {
  let summary = "y = x (same number of elements)";
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_Out<G4k_F32Buffer>:$y);
  let assemblyFormat = "$x `->` $y attr-dict `:` type($x) `->` type($y)";
}

def G4k_GeluGateOp : G4k_Op<"gelu_gate"> {
  let summary = "out[t][i] = gelu_tanh(gate[t][i]) * up[t][i]";
  let description = [{
    All three are [T, N]; `gate` and `up` may be strided views (the halves
    of a fused gate|up product, a layer's slice of the per-layer inputs).
  }];
  let arguments = (ins G4k_In<G4k_F32Buffer>:$gate, G4k_In<G4k_F32Buffer>:$up,
                       G4k_Out<G4k_F32Buffer>:$out);
  let assemblyFormat = [{
    $gate `,` $up `->` $out attr-dict `:` type($gate) `,` type($up) `->`
    type($out)
  }];
  let hasVerifier = 1;
}

def G4k_AddOp : G4k_Op<"add", [AllTypesMatch<["a", "b", "out"]>]> {
  let summary = "out = a + b";
  let arguments = (ins G4k_In<G4k_F32Buffer>:$a, G4k_In<G4k_F32Buffer>:$b, G4k_Out<G4k_F32Buffer>:$out);
  let assemblyFormat = "$a `,` $b `->` $out attr-dict `:` type($out)";
}

def G4k_ScaleOp : G4k_Op<"scale", [AllTypesMatch<["x", "out"]>]> {
  let summary = "out = x * scalar[0]";
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_In<G4k_WeightBuffer>:$scalar,
                       G4k_Out<G4k_F32Buffer>:$out);
  let assemblyFormat = [{
    $x `,` $scalar `->` $out attr-dict `:` type($scalar) `,` type($out)
  }];
}

def G4k_SoftcapOp : G4k_Op<"softcap"> {
  let summary = "x = cap * tanh(x / cap) in place";
  let arguments = (ins G4k_InOut<G4k_F32Buffer>:$x, F64Attr:$cap);
  let assemblyFormat = "$x attr-dict `:` type($x)";
}

def G4k_PleCombineOp : G4k_Op<"ple_combine"> {
  let summary = "the per-layer inputs from the projected context and the "
                "token rows";
  let description = [{
    `out[t][l] = (RMSNorm(projected[t][l] * context_scale; norm) +
    table[row(t)][first_layer + l] * table_scale) * 2^-1/2`, with row(t) =
    tokens[t], or 0 for ids beyond the table (multimodal placeholders): one
    gather of the token's row (its n layers' part) per token. `projected`
    (the context projection) and
    `out` are [T, n, P], `table` [rows, L * P] with first_layer + n <= L,
    `norm` [P].
  }];
  let arguments = (ins G4k_In<MemRefOf<[I32]>>:$tokens, G4k_In<G4k_WeightBuffer>:$table,
                       G4k_In<G4k_F32Buffer>:$projected, G4k_In<G4k_WeightBuffer>:$norm,
                       G4k_Out<G4k_F32Buffer>:$out, F64Attr:$table_scale,
                       F64Attr:$context_scale, F64Attr:$epsilon,
                       DefaultValuedAttr<I64Attr, "0">:$first_layer);
  let assemblyFormat = [{
    $tokens `,` $table `,` $projected `,` $norm `->` $out attr-dict `:`
    type($tokens) `,` type($table) `,` type($projected) `,` type($norm) `->`
    type($out)
  }];
  let hasVerifier = 1;
}

def G4k_MoEOp : G4k_Op<"moe", [AllTypesMatch<["x", "router_input", "out"]>]> {
  let summary = "router, top-k expert gather and weighted sum (§2.6)";
  let arguments = (ins G4k_In<G4k_F32Buffer>:$x, G4k_In<G4k_F32Buffer>:$router_input,
                       G4k_In<G4k_WeightBuffer>:$router, G4k_In<G4k_WeightBuffer>:$router_scale,
                       G4k_In<G4k_WeightBuffer>:$per_expert_scale,
                       G4k_In<G4k_WeightBuffer>:$gate_up, G4k_In<G4k_WeightBuffer>:$down,
                       G4k_InOut<G4k_F32Buffer>:$scratch, G4k_Out<G4k_F32Buffer>:$out,
                       I64Attr:$top_k, F64Attr:$epsilon);
  let assemblyFormat = [{
    $x `,` $router_input `router` `(` $router `,` $router_scale `,`
    $per_expert_scale `:` type($router) `,` type($router_scale) `,`
    type($per_expert_scale) `)` `experts` `(` $gate_up `,` $down `:`
    type($gate_up) `,` type($down) `)` `scratch` `(` $scratch `:`
    type($scratch) `)` `->` $out attr-dict `:` type($x)
  }];
}

#endif // G4C_DIALECT_KERNEL_IR_KERNELOPS_TD
