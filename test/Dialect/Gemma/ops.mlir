// RUN: g4c-opt %s -split-input-file | FileCheck %s
// RUN: g4c-opt %s -split-input-file | g4c-opt -split-input-file | FileCheck %s
// Round trip of every gemma op through its assembly format.

// CHECK-LABEL: func.func @rms_norm_with_weight_1536
// CHECK-SAME: (%[[X:.+]]: tensor<7x1536xf32>, %[[W:.+]]: tensor<1536xbf16>)
// CHECK: gemma.rms_norm %[[X]] weight(%[[W]] : tensor<1536xbf16>) : tensor<7x1536xf32>
func.func @rms_norm_with_weight_1536(%x: tensor<7x1536xf32>, %w: tensor<1536xbf16>) -> tensor<7x1536xf32> {
  %y = gemma.rms_norm %x weight(%w : tensor<1536xbf16>) : tensor<7x1536xf32>
  return %y : tensor<7x1536xf32>
}

// -----

// The default epsilon (1e-6) is elided; any other value is printed.
// CHECK-LABEL: func.func @rms_norm_no_scale_custom_epsilon
// CHECK: gemma.rms_norm %{{.+}} {epsilon = 1.000000e-05 : f64} : tensor<2x4x256xf32>
// CHECK: gemma.rms_norm %{{.+}} : tensor<2x4x256xf32>
func.func @rms_norm_no_scale_custom_epsilon(%x: tensor<2x4x256xf32>) -> tensor<2x4x256xf32> {
  %y = gemma.rms_norm %x {epsilon = 1.0e-05 : f64} : tensor<2x4x256xf32>
  %z = gemma.rms_norm %y {epsilon = 1.0e-06 : f64} : tensor<2x4x256xf32>
  return %z : tensor<2x4x256xf32>
}

// -----

// CHECK-LABEL: func.func @softcap_30
// CHECK: gemma.softcap %{{.+}} {cap = 3.000000e+01 : f64} : tensor<1x262144xf32>
func.func @softcap_30(%x: tensor<1x262144xf32>) -> tensor<1x262144xf32> {
  %y = gemma.softcap %x {cap = 30.0 : f64} : tensor<1x262144xf32>
  return %y : tensor<1x262144xf32>
}

// -----

// A two-layer model: every model-level op, with its weights by reference.
module {
  gemma.weight @embed : tensor<32x8xbf16> = "model.language_model.embed_tokens.weight" in "model.safetensors"
  gemma.weight @ple_table : tensor<32x8xbf16> = "model.language_model.embed_tokens_per_layer.weight" in "model.safetensors"
  gemma.weight @ple_projection : tensor<8x8xbf16> = "p" in "model.safetensors"
  gemma.weight @ple_norm : tensor<4xbf16> = "n" in "model.safetensors"
  gemma.weight @norm8 : tensor<8xbf16> = "norm" in "model.safetensors"
  gemma.weight @q : tensor<8x8xbf16> = "q" in "model.safetensors"
  gemma.weight @o : tensor<8x8xbf16> = "o" in "model.safetensors"
  gemma.weight @head_norm : tensor<4xbf16> = "qn" in "model.safetensors"
  gemma.weight @k : tensor<4x8xbf16> = "k" in "model.safetensors"
  gemma.weight @gate : tensor<16x8xbf16> = "g" in "model.safetensors"
  gemma.weight @down : tensor<8x16xbf16> = "d" in "model.safetensors"
  gemma.weight @router : tensor<4x8xbf16> = "r" in "model.safetensors"
  gemma.weight @experts4 : tensor<4xbf16> = "pe" in "model.safetensors"
  gemma.weight @gate_up : tensor<4x12x8xbf16> = "gu" in "model.safetensors"
  gemma.weight @experts_down : tensor<4x8x6xbf16> = "ed" in "model.safetensors"
  gemma.weight @ple_gate : tensor<4x8xbf16> = "pg" in "model.safetensors"
  gemma.weight @ple_out : tensor<8x4xbf16> = "po" in "model.safetensors"
  gemma.weight @scalar : tensor<1xbf16> = "s" in "model.safetensors"

  // CHECK-LABEL: func.func @every_model_op_sliding_then_shared
  func.func @every_model_op_sliding_then_shared(%tokens: tensor<3xi32>, %start: index) -> tensor<3x32xf32> {
    %E = gemma.weight_ref @embed : tensor<32x8xbf16>
    // CHECK: gemma.embed %{{.+}} table(%{{.+}} : tensor<32x8xbf16>) {scale = 2.828125 : f64} : tensor<3xi32> -> tensor<3x8xf32>
    %h0 = gemma.embed %tokens table(%E : tensor<32x8xbf16>) {scale = 2.828125 : f64} : tensor<3xi32> -> tensor<3x8xf32>
    %pt = gemma.weight_ref @ple_table : tensor<32x8xbf16>
    %pp = gemma.weight_ref @ple_projection : tensor<8x8xbf16>
    %pn = gemma.weight_ref @ple_norm : tensor<4xbf16>
    // CHECK: gemma.per_layer_inputs {{.+}} -> tensor<3x2x4xf32>
    %ple = gemma.per_layer_inputs %tokens, %h0 table(%pt : tensor<32x8xbf16>) projection(%pp : tensor<8x8xbf16>) norm(%pn : tensor<4xbf16>) {table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x2x4xf32>
    %n = gemma.weight_ref @norm8 : tensor<8xbf16>
    %q = gemma.weight_ref @q : tensor<8x8xbf16>
    %o = gemma.weight_ref @o : tensor<8x8xbf16>
    %hn = gemma.weight_ref @head_norm : tensor<4xbf16>
    %k = gemma.weight_ref @k : tensor<4x8xbf16>
    // CHECK: gemma.attention {{.+}} k_norm(%{{.+}} : tensor<4xbf16>) {{.*}}kind = #gemma.attention_kind<sliding>{{.*}}window = 2 : i64} : tensor<3x8xf32>
    %a0 = gemma.attention %h0 at %start q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 10000.0 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    // A KV-shared layer: no k/v weights of its own.
    // CHECK: gemma.attention {{.+}} q_norm(%{{.+}} : tensor<4xbf16>) {{.*}}kv_owner = 0 : i64, layer = 1 : i64
    %a1 = gemma.attention %a0 at %start q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 10000.0 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
    %g = gemma.weight_ref @gate : tensor<16x8xbf16>
    %d = gemma.weight_ref @down : tensor<8x16xbf16>
    // CHECK: gemma.mlp
    %m = gemma.mlp %a1 gate(%g : tensor<16x8xbf16>) up(%g : tensor<16x8xbf16>) down(%d : tensor<8x16xbf16>) : tensor<3x8xf32>
    %r = gemma.weight_ref @router : tensor<4x8xbf16>
    %pe = gemma.weight_ref @experts4 : tensor<4xbf16>
    %gu = gemma.weight_ref @gate_up : tensor<4x12x8xbf16>
    %ed = gemma.weight_ref @experts_down : tensor<4x8x6xbf16>
    // CHECK: gemma.moe {{.+}} {top_k = 2 : i64} : tensor<3x8xf32>
    %e = gemma.moe %m router_input(%a1) router(%r : tensor<4x8xbf16>) router_scale(%n : tensor<8xbf16>) per_expert_scale(%pe : tensor<4xbf16>) gate_up(%gu : tensor<4x12x8xbf16>) down(%ed : tensor<4x8x6xbf16>) {top_k = 2 : i64} : tensor<3x8xf32>
    %pg = gemma.weight_ref @ple_gate : tensor<4x8xbf16>
    %po = gemma.weight_ref @ple_out : tensor<8x4xbf16>
    // CHECK: gemma.per_layer_input {{.+}} {index = 1 : i64} : tensor<3x8xf32>, tensor<3x2x4xf32>
    %i = gemma.per_layer_input %e, %ple gate(%pg : tensor<4x8xbf16>) projection(%po : tensor<8x4xbf16>) norm(%n : tensor<8xbf16>) {index = 1 : i64} : tensor<3x8xf32>, tensor<3x2x4xf32>
    %s = gemma.weight_ref @scalar : tensor<1xbf16>
    // CHECK: gemma.layer_scale
    %x = gemma.layer_scale %i scalar(%s : tensor<1xbf16>) : tensor<3x8xf32>
    // CHECK: gemma.logits {{.+}} {softcap = 3.000000e+01 : f64} : tensor<3x8xf32> -> tensor<3x32xf32>
    %z = gemma.logits %x norm(%n : tensor<8xbf16>) embedding(%E : tensor<32x8xbf16>) {softcap = 30.0 : f64} : tensor<3x8xf32> -> tensor<3x32xf32>
    // CHECK: gemma.logits {{.+}} : tensor<3x8xf32> -> tensor<1x32xf32>
    %last = gemma.logits %x norm(%n : tensor<8xbf16>) embedding(%E : tensor<32x8xbf16>) : tensor<3x8xf32> -> tensor<1x32xf32>
    return %z : tensor<3x32xf32>
  }
}

// -----

// The specialised attention ops (g4c-specialize-attention's output).
// CHECK-LABEL: func.func @specialised_attention
// CHECK: %[[KV:.+]] = gemma.kv_projection %[[A:.+]] at %[[S:.+]] k(%{{.+}} : tensor<16x64xbf16>) v(%{{.+}} : tensor<16x64xbf16>) k_norm(%{{.+}} : tensor<16xbf16>) rope(%[[F:.+]] : tensor<8xf64>) {k_eq_v = false, layer = 0 : i64} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
// CHECK: gemma.cached_attention %[[A]], %[[KV]] at %[[S]] q(%{{.+}} : tensor<32x64xbf16>) o(%{{.+}} : tensor<64x32xbf16>) q_norm(%{{.+}} : tensor<16xbf16>) rope(%[[F]] : tensor<8xf64>) {cache_slots = 4 : i64, kv_owner = 0 : i64, layer = 0 : i64, num_heads = 2 : i64, window = 4 : i64} : tensor<5x64xf32>, tensor<2x5x1x16xf32>
// CHECK: gemma.kv_store %[[KV]] at %[[S]] {cache_slots = 4 : i64, layer = 0 : i64} : tensor<2x5x1x16xf32>
// CHECK: gemma.kv_projection {{.*}} k_norm(%{{.+}} : tensor<16xbf16>) rope({{.*}}) {k_eq_v = true
func.func @specialised_attention(%a: tensor<5x64xf32>, %s: index, %f: tensor<8xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>, %q: tensor<32x64xbf16>, %o: tensor<64x32xbf16>) -> tensor<5x64xf32> {
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) v(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, k_eq_v = false} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
  %y = gemma.cached_attention %a, %kv at %s q(%q : tensor<32x64xbf16>) o(%o : tensor<64x32xbf16>) q_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, kv_owner = 0 : i64, num_heads = 2 : i64, window = 4 : i64, cache_slots = 4 : i64} : tensor<5x64xf32>, tensor<2x5x1x16xf32>
  gemma.kv_store %kv at %s {layer = 0 : i64, cache_slots = 4 : i64} : tensor<2x5x1x16xf32>
  %kv2 = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 1 : i64, k_eq_v = true} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
  return %y : tensor<5x64xf32>
}

// -----

// CHECK-LABEL: module
// CHECK: gemma.fused_weight @"k+v*g" : tensor<8x8xf32> = concat [@k, @v] scaled_by @g
// CHECK: gemma.fused_weight @"k+v" : tensor<8x8xbf16> = concat [@k, @v]
module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  gemma.weight @v : tensor<4x8xbf16> = "v" in "m.safetensors"
  gemma.weight @g : tensor<8xbf16> = "g" in "m.safetensors"
  gemma.fused_weight @"k+v*g" : tensor<8x8xf32> = concat [@k, @v] scaled_by @g
  gemma.fused_weight @"k+v" : tensor<8x8xbf16> = concat [@k, @v]
}
