// Cache sizes come from the specialised attention (gemma.kv_store), so most
// runs specialise first; UNSPEC plans the unspecialised gemma.attention.
// RUN: g4c-opt %s -split-input-file -g4c-specialize-attention -g4c-plan-memory | FileCheck %s
// RUN: g4c-opt %s -split-input-file -g4c-specialize-attention -g4c-plan-memory="kv-dtype=f16" | FileCheck %s --check-prefix=F16
// RUN: g4c-opt %s -split-input-file -g4c-specialize-attention -g4c-plan-memory="no-ring-buffers=true" | FileCheck %s --check-prefix=NORING
// RUN: g4c-opt %s -split-input-file -g4c-specialize-attention -g4c-plan-memory="no-kv-sharing=true" | FileCheck %s --check-prefix=NOSHARE
// RUN: g4c-opt %s -split-input-file -g4c-specialize-attention -g4c-plan-memory="report=true" 2>&1 >/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: g4c-opt %s -split-input-file -g4c-plan-memory | FileCheck %s --check-prefix=UNSPEC
// RUN: not g4c-opt %s -split-input-file -g4c-plan-memory="kv-dtype=q4" 2>&1 | FileCheck %s --check-prefix=DTYPE

// A chain of [2, 8] f32 values (64 bytes each): the third reuses the
// first's space, which is dead once the second is computed; the fourth is
// returned: the caller's buffer receives it, it takes no arena space.
// CHECK-LABEL: module attributes
// CHECK-SAME: gemma.memory_plan = {activation_bytes = 128 : i64, arena_bytes = 128 : i64, kv_bytes = 0 : i64, kv_bytes_per_layer = {}, kv_dtype = "f32", kv_offset_per_layer = {}, kv_slots_per_layer = {}}
// CHECK-LABEL: func.func @chain_reuses_dead_space
// CHECK: gemma.rms_norm {{.*}}{gemma.arena_offset = 0 : i64}
// CHECK: gemma.rms_norm {{.*}}{gemma.arena_offset = 64 : i64}
// CHECK: gemma.rms_norm {{.*}}{gemma.arena_offset = 0 : i64}
// CHECK-NEXT: gemma.rms_norm %{{[0-9]+}} : tensor<2x8xf32>
module attributes {gemma.context_length = 16 : i64} {
  func.func @chain_reuses_dead_space(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %a = gemma.rms_norm %x : tensor<2x8xf32>
    %b = gemma.rms_norm %a : tensor<2x8xf32>
    %c = gemma.rms_norm %b : tensor<2x8xf32>
    %d = gemma.rms_norm %c : tensor<2x8xf32>
    return %d : tensor<2x8xf32>
  }
}

// -----

// KV caches: sliding owner layer 0 (W = 2, 1 KV head of 4), its consumer
// layer 1 (no cache), full owner layer 2 (context 16, 1 x 8):
//   f32: layer 0: 2 (K,V) * 2 slots * 4 * 4 bytes = 64; layer 2: 2 * 16 * 8 * 4 = 1024.
//   f16: 32 -> one 64-byte line; 512.
//   no ring buffers, or unspecialised: layer 0 keeps 16 slots: 2 * 16 * 4 * 4 = 512.
//   no sharing: layer 1 gets its own 64.
// Activations start after the caches. Layer 0's K/V ([2, 3, 1, 4], 96 ->
// 128 bytes) live until the store after layer 1, the last reader; layer 2's
// ([2, 3, 1, 8], 192 bytes) then reuse their space and that of layer 0's
// output. The RoPE tables are constants and the returned value goes to the
// caller: neither is an activation.
// CHECK-LABEL: module attributes
// CHECK-SAME: activation_bytes = 384 : i64, arena_bytes = 1472 : i64, kv_bytes = 1088 : i64, kv_bytes_per_layer = {layer0 = 64 : i64, layer2 = 1024 : i64}, kv_dtype = "f32", kv_offset_per_layer = {layer0 = 0 : i64, layer2 = 64 : i64}, kv_slots_per_layer = {layer0 = 2 : i64, layer2 = 16 : i64}
// CHECK: arith.constant
// CHECK-NOT: gemma.arena_offset
// CHECK: gemma.kv_projection {{.*}}gemma.arena_offset = 1088 : i64{{.*}}layer = 0
// CHECK: gemma.cached_attention {{.*}}gemma.arena_offset = 1216 : i64
// CHECK: gemma.cached_attention {{.*}}gemma.arena_offset = 1344 : i64
// CHECK: gemma.kv_store
// CHECK: gemma.kv_projection {{.*}}gemma.arena_offset = 1088 : i64{{.*}}layer = 2
// CHECK: gemma.cached_attention
// CHECK-NOT: gemma.arena_offset
// CHECK-SAME: tensor<3x8xf32>, tensor<2x3x1x8xf32>
// F16: kv_bytes = 576 : i64, kv_bytes_per_layer = {layer0 = 64 : i64, layer2 = 512 : i64}
// NORING: kv_bytes = 1536 : i64, kv_bytes_per_layer = {layer0 = 512 : i64, layer2 = 1024 : i64}
// NOSHARE: kv_bytes = 1152 : i64, kv_bytes_per_layer = {layer0 = 64 : i64, layer1 = 64 : i64, layer2 = 1024 : i64}
// UNSPEC: kv_bytes = 1536 : i64, kv_bytes_per_layer = {layer0 = 512 : i64, layer2 = 1024 : i64}
// UNSPEC: gemma.attention {{.*}}gemma.arena_offset = 1536 : i64
// REPORT: remark: arena 128 bytes: activations 128, KV caches 0 (0 layers, f32)
// REPORT: remark: arena 1472 bytes: activations 384, KV caches 1088 (2 layers, f32); layer 0: 64 bytes (2 slots); layer 2: 1024 bytes (16 slots)
module attributes {gemma.context_length = 16 : i64} {
  func.func @kv_caches_sliding_shared_full(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %q2: tensor<16x8xbf16>, %o2: tensor<8x16xbf16>, %n: tensor<4xbf16>, %n8: tensor<8xbf16>, %k: tensor<4x8xbf16>, %k8: tensor<8x8xbf16>) -> tensor<3x8xf32> {
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %a2 = gemma.attention %a1 at %s q(%q2 : tensor<16x8xbf16>) o(%o2 : tensor<8x16xbf16>) q_norm(%n8 : tensor<8xbf16>) k(%k8 : tensor<8x8xbf16>) v(%k8 : tensor<8x8xbf16>) k_norm(%n8 : tensor<8xbf16>) {layer = 2 : i64, kind = #gemma.attention_kind<full>, head_dim = 8 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 2 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a2 : tensor<3x8xf32>
  }
}

// -----

// Prefill chunks of T = 3: the sliding ring still holds exactly W = 2
// positions (2 * 2 slots * 4 * 4 bytes = 64); unspecialised, the whole
// context (512).
// CHECK-LABEL: module attributes
// CHECK-SAME: kv_bytes = 64 : i64, kv_bytes_per_layer = {layer0 = 64 : i64}, kv_dtype = "f32", kv_offset_per_layer = {layer0 = 0 : i64}, kv_slots_per_layer = {layer0 = 2 : i64}
// UNSPEC: kv_bytes = 512 : i64
module attributes {gemma.context_length = 16 : i64, gemma.prefill_chunk = 3 : i64} {
  func.func @ring_holds_exactly_the_window(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %n: tensor<4xbf16>, %k: tensor<4x8xbf16>) -> tensor<3x8xf32> {
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a0 : tensor<3x8xf32>
  }
}

// DTYPE: error: expected kv-dtype f32, f16, bf16 or i8, got 'q4'
