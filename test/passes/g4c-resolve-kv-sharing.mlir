// RUN: g4c-opt %s -split-input-file -g4c-resolve-kv-sharing | FileCheck %s

// Layer 1 reads layer 0's cache: its k/v/k_norm operands and their weights
// go; layer 0's stay.
// CHECK: gemma.weight @l0_k
// CHECK-NOT: gemma.weight @l1_k
// CHECK-NOT: gemma.weight @l1_k_norm
// CHECK-LABEL: func.func @sliding_consumer_of_layer_0
// CHECK: %[[A0:.+]] = gemma.attention %{{.+}} k(%{{.+}}) v(%{{.+}}) k_norm(%{{.+}}) {{.*}}layer = 0 : i64
// CHECK: gemma.attention %[[A0]] at %{{.+}} q(%{{.+}} : tensor<8x8xbf16>) o(%{{.+}} : tensor<8x8xbf16>) q_norm(%{{.+}} : tensor<4xbf16>) {{{.*}}kv_owner = 0 : i64, layer = 1 : i64
// CHECK-NOT: gemma.weight_ref @l1_k
module {
  gemma.weight @q : tensor<8x8xbf16> = "q" in "model.safetensors"
  gemma.weight @o : tensor<8x8xbf16> = "o" in "model.safetensors"
  gemma.weight @n : tensor<4xbf16> = "n" in "model.safetensors"
  gemma.weight @l0_k : tensor<4x8xbf16> = "l0.k" in "model.safetensors"
  gemma.weight @l1_k : tensor<4x8xbf16> = "l1.k" in "model.safetensors"
  gemma.weight @l1_k_norm : tensor<4xbf16> = "l1.kn" in "model.safetensors"
  func.func @sliding_consumer_of_layer_0(%x: tensor<3x8xf32>, %s: index) -> tensor<3x8xf32> {
    %q = gemma.weight_ref @q : tensor<8x8xbf16>
    %o = gemma.weight_ref @o : tensor<8x8xbf16>
    %n = gemma.weight_ref @n : tensor<4xbf16>
    %k0 = gemma.weight_ref @l0_k : tensor<4x8xbf16>
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k0 : tensor<4x8xbf16>) v(%k0 : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %k1 = gemma.weight_ref @l1_k : tensor<4x8xbf16>
    %kn1 = gemma.weight_ref @l1_k_norm : tensor<4xbf16>
    %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k1 : tensor<4x8xbf16>) v(%k1 : tensor<4x8xbf16>) k_norm(%kn1 : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a1 : tensor<3x8xf32>
  }
}

// -----

// A weight still used elsewhere (here: by the owner) is kept.
// CHECK: gemma.weight @shared_k
// CHECK-LABEL: func.func @negative_weight_used_by_owner_kept
// CHECK: gemma.attention {{.*}} k(%{{.+}} : tensor<4x8xbf16>) {{.*}}layer = 0 : i64
module {
  gemma.weight @q : tensor<8x8xbf16> = "q" in "model.safetensors"
  gemma.weight @n : tensor<4xbf16> = "n" in "model.safetensors"
  gemma.weight @shared_k : tensor<4x8xbf16> = "k" in "model.safetensors"
  func.func @negative_weight_used_by_owner_kept(%x: tensor<3x8xf32>, %s: index) -> tensor<3x8xf32> {
    %q = gemma.weight_ref @q : tensor<8x8xbf16>
    %n = gemma.weight_ref @n : tensor<4xbf16>
    %k = gemma.weight_ref @shared_k : tensor<4x8xbf16>
    %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%q : tensor<8x8xbf16>) q_norm(%n : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%n : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    return %a1 : tensor<3x8xf32>
  }
}
