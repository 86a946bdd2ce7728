// RUN: g4c-opt %s -g4c-pipeline | FileCheck %s
// RUN: g4c-opt %s -g4c-pipeline -mlir-print-ir-after-all 2>&1 | FileCheck %s --check-prefix=PASSES

// The default pipeline, in order (one "IR Dump After" per pass).
// PASSES: IR Dump After ResolveKvSharingPass
// PASSES: IR Dump After Canonicalizer
// PASSES: IR Dump After PlanMemoryPass

// KV sharing is resolved by the default pipeline.
// CHECK: gemma.memory_plan
// CHECK-NOT: @l1_k
// CHECK-LABEL: func.func @pipeline_resolves_kv_sharing
// CHECK: gemma.attention {{.*}}layer = 0 : i64
// CHECK: gemma.attention {{.*}} q_norm(%{{.+}} : tensor<4xbf16>) {{{.*}}layer = 1 : i64
module attributes {gemma.context_length = 16 : i64} {
  gemma.weight @q : tensor<8x8xbf16> = "q" in "model.safetensors"
  gemma.weight @n : tensor<4xbf16> = "n" in "model.safetensors"
  gemma.weight @l0_k : tensor<4x8xbf16> = "l0.k" in "model.safetensors"
  gemma.weight @l1_k : tensor<4x8xbf16> = "l1.k" in "model.safetensors"
  func.func @pipeline_resolves_kv_sharing(%x: tensor<3x8xf32>, %s: index) -> tensor<3x8xf32> {
    %q = gemma.weight_ref @q : tensor<8x8xbf16>
    %n = gemma.weight_ref @n : tensor<4xbf16>
    %k0 = gemma.weight_ref @l0_k : tensor<4x8xbf16>
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k0 : tensor<4x8xbf16>) v(%k0 : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %k1 = gemma.weight_ref @l1_k : tensor<4x8xbf16>
    %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k1 : tensor<4x8xbf16>) v(%k1 : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a1 : tensor<3x8xf32>
  }
}
