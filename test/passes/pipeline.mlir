// RUN: g4c-opt %s -g4c-pipeline | FileCheck %s
// RUN: g4c-opt %s -g4c-pipeline -mlir-print-ir-after-all 2>&1 | FileCheck %s --check-prefix=PASSES

// The default pipeline, in order (one "IR Dump After" per pass).
// PASSES: IR Dump After ResolveKvSharingPass
// PASSES: IR Dump After FusePerLayerInputsPass
// PASSES: IR Dump After SpecializeAttentionPass
// PASSES: IR Dump After Canonicalizer
// PASSES: IR Dump After CSE
// PASSES: IR Dump After PlanMemoryPass
// PASSES: IR Dump After LowerToKernelsPass
// PASSES: IR Dump After CSE
// PASSES: IR Dump After FuseProjectionsPass

// From model ops to kernel calls: KV sharing resolved (layer 1's k weight
// is gone), a ring of the window for the sliding layers, one RoPE table,
// layer 0's k, v (both @l0_k here) and q projections stacked into one
// matmul, layer 1 reading layer 0's current K/V before layer 0's store.
// CHECK: gemma.memory_plan = {{{.*}}kv_slots_per_layer = {layer0 = 2 : i64}
// CHECK-SAME: scratch_bytes
// CHECK: memref.global "private" constant @table_0 : memref<2xf64>
// CHECK-NOT: @l1_k
// CHECK: gemma.fused_weight @"l0_k+l0_k+q" : tensor<16x8xbf16> = concat [@l0_k, @l0_k, @q]
// CHECK-NOT: @l1_k
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[W:.+]]: memref<?xi8>, %[[ARENA:.+]]: memref<?xi8>, %[[TOKENS:.+]]: memref<1xi32>, %[[START:.+]]: index, %[[LOGITS:.+]]: memref<1x16xf32>)
// CHECK-SAME: attributes {g4k.entry}
// CHECK: g4k.embed %[[TOKENS]]
// CHECK: g4k.fused_linear {{.*}} : memref<1x8xf32>, memref<16x8xbf16> -> memref<1x4xf32>, memref<1x4xf32>, memref<1x8xf32>
// CHECK: g4k.rope {{.*}} at %[[START]]
// CHECK: g4k.attend {{.*}} fresh({{.*}}) {{.*}}window = 2
// CHECK: g4k.attend {{.*}} fresh({{.*}}) {{.*}}window = 2
// CHECK: g4k.kv_store
// CHECK: g4k.linear {{.*}} -> %[[LOGITS]]
// CHECK-NEXT: return
module attributes {gemma.context_length = 16 : i64, gemma.prefill_chunk = 1 : i64} {
  gemma.weight @e : tensor<16x8xbf16> = "e" in "model.safetensors"
  gemma.weight @q : tensor<8x8xbf16> = "q" in "model.safetensors"
  gemma.weight @n : tensor<4xbf16> = "n" in "model.safetensors"
  gemma.weight @n8 : tensor<8xbf16> = "n8" in "model.safetensors"
  gemma.weight @l0_k : tensor<4x8xbf16> = "l0.k" in "model.safetensors"
  gemma.weight @l1_k : tensor<4x8xbf16> = "l1.k" in "model.safetensors"
  func.func @decode(%tokens: tensor<1xi32>, %s: index) -> tensor<1x16xf32> {
    %e = gemma.weight_ref @e : tensor<16x8xbf16>
    %x = gemma.embed %tokens table(%e : tensor<16x8xbf16>) {scale = 2.0 : f64} : tensor<1xi32> -> tensor<1x8xf32>
    %q = gemma.weight_ref @q : tensor<8x8xbf16>
    %n = gemma.weight_ref @n : tensor<4xbf16>
    %k0 = gemma.weight_ref @l0_k : tensor<4x8xbf16>
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k0 : tensor<4x8xbf16>) v(%k0 : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<1x8xf32>
    %k1 = gemma.weight_ref @l1_k : tensor<4x8xbf16>
    %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k1 : tensor<4x8xbf16>) v(%k1 : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<1x8xf32>
    %n8 = gemma.weight_ref @n8 : tensor<8xbf16>
    %z = gemma.logits %a1 norm(%n8 : tensor<8xbf16>) embedding(%e : tensor<16x8xbf16>) : tensor<1x8xf32> -> tensor<1x16xf32>
    return %z : tensor<1x16xf32>
  }
}
