// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-specialize-attention | FileCheck %s

// Layer 0: sliding owner (W = 2 of a 16-token context: a ring of exactly 2
// slots, even for chunks of 3). Layer 1: full K=V owner (one projection, a
// linear cache of the context; 2 of its 4 pairs rotate: proportional RoPE).
// Layer 2: reads layer 0's cache and current K/V; layer 0's store comes
// after it, the last reader, and layer 1's right after its own attention.
// The frequencies are theta^(-2j / head_dim): 1e4^(-2/4) = 0.01,
// 1e6^(-2/8) = 0.0316...
// CHECK-LABEL: func.func @sliding_full_and_shared
// CHECK-NEXT: %[[F0:.+]] = arith.constant dense<[1.000000e+00, 1.000000e-02]> : tensor<2xf64>
// CHECK-NEXT: %[[F1:.+]] = arith.constant dense<[1.000000e+00, 0.031622776601683791]> : tensor<2xf64>
// CHECK: %[[KV0:.+]] = gemma.kv_projection %{{.+}} at %[[S:.+]] k({{.*}}) v({{.*}}) k_norm({{.*}}) rope(%[[F0]] : tensor<2xf64>) {k_eq_v = false, layer = 0 : i64} : tensor<3x8xf32> -> tensor<2x3x1x4xf32>
// CHECK: %[[A0:.+]] = gemma.cached_attention %{{.+}}, %[[KV0]] at %[[S]] {{.*}}rope(%[[F0]] : tensor<2xf64>) {cache_slots = 2 : i64, kv_owner = 0 : i64, layer = 0 : i64, num_heads = 2 : i64, window = 2 : i64}
// CHECK-NOT: gemma.kv_store
// CHECK: %[[KV1:.+]] = gemma.kv_projection %[[A0]] at %[[S]] k({{.*}}) k_norm({{.*}}) rope(%[[F1]] : tensor<2xf64>) {k_eq_v = true, layer = 1 : i64} : tensor<3x8xf32> -> tensor<2x3x1x8xf32>
// CHECK: %[[A1:.+]] = gemma.cached_attention %[[A0]], %[[KV1]] {{.*}}{cache_slots = 16 : i64, kv_owner = 1 : i64, layer = 1 : i64, num_heads = 2 : i64, window = 0 : i64}
// CHECK-NEXT: gemma.kv_store %[[KV1]] at %[[S]] {cache_slots = 16 : i64, layer = 1 : i64}
// CHECK-NEXT: %[[A2:.+]] = gemma.cached_attention %[[A1]], %[[KV0]] {{.*}}rope(%[[F0]] : tensor<2xf64>) {cache_slots = 2 : i64, kv_owner = 0 : i64, layer = 2 : i64, num_heads = 2 : i64, window = 2 : i64}
// CHECK-NEXT: gemma.kv_store %[[KV0]] at %[[S]] {cache_slots = 2 : i64, layer = 0 : i64}
// CHECK-NOT: gemma.attention
// CHECK: return %[[A2]]
module attributes {gemma.context_length = 16 : i64, gemma.prefill_chunk = 3 : i64} {
  func.func @sliding_full_and_shared(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %q2: tensor<16x8xbf16>, %o2: tensor<8x16xbf16>, %n: tensor<4xbf16>, %n8: tensor<8xbf16>, %k: tensor<4x8xbf16>, %k8: tensor<8x8xbf16>) -> tensor<3x8xf32> {
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %a1 = gemma.attention %a0 at %s q(%q2 : tensor<16x8xbf16>) o(%o2 : tensor<8x16xbf16>) q_norm(%n8 : tensor<8xbf16>) k(%k8 : tensor<8x8xbf16>) k_norm(%n8 : tensor<8xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<full>, head_dim = 8 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 4 : i64, kv_owner = 1 : i64, k_eq_v = true} : tensor<3x8xf32>
    %a2 = gemma.attention %a1 at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) {layer = 2 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a2 : tensor<3x8xf32>
  }
}

// -----

// A window wider than the context: the ring is the context.
// CHECK-LABEL: func.func @window_wider_than_context
// CHECK: gemma.cached_attention {{.*}}cache_slots = 16 : i64{{.*}}window = 32 : i64
module attributes {gemma.context_length = 16 : i64} {
  func.func @window_wider_than_context(%x: tensor<1x8xf32>, %s: index, %q: tensor<8x8xbf16>, %n: tensor<4xbf16>, %k: tensor<4x8xbf16>) -> tensor<1x8xf32> {
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 32 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<1x8xf32>
    return %a0 : tensor<1x8xf32>
  }
}

// -----

// expected-error @+1 {{expected a positive module attribute gemma.context_length}}
module {
  func.func @negative_no_context() {
    return
  }
}
