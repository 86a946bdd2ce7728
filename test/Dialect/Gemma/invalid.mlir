// RUN: g4c-opt %s -split-input-file -verify-diagnostics
// Every gemma verifier diagnostic, one case each.

func.func @negative_rms_norm_weight_size(%x: tensor<3x8xf32>, %w: tensor<7xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expected weight of size 8 (the innermost input dimension), got 7}}
  %y = gemma.rms_norm %x weight(%w : tensor<7xf32>) : tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @negative_rms_norm_weight_rank(%x: tensor<3x8xf32>, %w: tensor<1x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expected weight of rank 1, got rank 2}}
  %y = gemma.rms_norm %x weight(%w : tensor<1x8xf32>) : tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @negative_rms_norm_scalar_input(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{expected input of rank >= 1, got rank 0}}
  %y = gemma.rms_norm %x : tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @negative_rms_norm_epsilon(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{expected epsilon > 0, got 0}}
  %y = gemma.rms_norm %x {epsilon = 0.0 : f64} : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

func.func @negative_softcap_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expected cap > 0, got 0}}
  %y = gemma.softcap %x {cap = 0.0 : f64} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @negative_softcap_integer(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = gemma.softcap %x {cap = 30.0 : f64} : tensor<4xi32>
  return %y : tensor<4xi32>
}

// -----

func.func @negative_weight_ref_unknown() {
  // expected-error @+1 {{'missing' does not name a gemma.weight}}
  %w = gemma.weight_ref @missing : tensor<4xbf16>
  return
}

// -----

gemma.weight @w : tensor<4xbf16> = "w" in "model.safetensors"
func.func @negative_weight_ref_type() {
  // expected-error @+1 {{expected type 'tensor<4xbf16>' of weight 'w', got 'tensor<4xf32>'}}
  %w = gemma.weight_ref @w : tensor<4xf32>
  return
}

// -----

func.func @negative_embed_width(%t: tensor<3xi32>, %E: tensor<32x8xbf16>) {
  // expected-error @+1 {{expected result of shape [3, 8], got [3, 4]}}
  %h = gemma.embed %t table(%E : tensor<32x8xbf16>) {scale = 2.0 : f64} : tensor<3xi32> -> tensor<3x4xf32>
  return
}

// -----

func.func @negative_embed_scale(%t: tensor<3xi32>, %E: tensor<32x8xbf16>) {
  // expected-error @+1 {{expected scale > 0, got 0}}
  %h = gemma.embed %t table(%E : tensor<32x8xbf16>) {scale = 0.0 : f64} : tensor<3xi32> -> tensor<3x8xf32>
  return
}

// -----

func.func @negative_ple_layers_beyond_table(%t: tensor<3xi32>, %h: tensor<3x8xf32>, %tab: tensor<32x8xbf16>, %p: tensor<8x8xbf16>, %n: tensor<4xbf16>) {
  // expected-error @+1 {{expected layers [1, 3) within the table's 2}}
  %ple = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x8xbf16>) projection(%p : tensor<8x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 1 : i64, table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x2x4xf32>
  return
}

// -----

func.func @negative_ple_table_width(%t: tensor<3xi32>, %h: tensor<3x8xf32>, %tab: tensor<32x6xbf16>, %p: tensor<8x8xbf16>, %n: tensor<4xbf16>) {
  // expected-error @+1 {{expected a [vocab, L * 4] table, got [32, 6]}}
  %ple = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x6xbf16>) projection(%p : tensor<8x8xbf16>) norm(%n : tensor<4xbf16>) {table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x2x4xf32>
  return
}

// -----

func.func @negative_ple_norm(%t: tensor<3xi32>, %h: tensor<3x8xf32>, %tab: tensor<32x8xbf16>, %p: tensor<8x8xbf16>, %n: tensor<8xbf16>) {
  // expected-error @+1 {{expected norm of shape [4], got [8]}}
  %ple = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x8xbf16>) projection(%p : tensor<8x8xbf16>) norm(%n : tensor<8xbf16>) {table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x2x4xf32>
  return
}

// -----

func.func @negative_attention_heads_divide(%x: tensor<3x8xf32>, %s: index, %q: tensor<12x8xbf16>, %o: tensor<8x12xbf16>, %hn: tensor<4xbf16>, %k: tensor<8x8xbf16>) {
  // expected-error @+1 {{expected num_heads (3) to be a multiple of num_kv_heads (2)}}
  %a = gemma.attention %x at %s q(%q : tensor<12x8xbf16>) o(%o : tensor<8x12xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<8x8xbf16>) v(%k : tensor<8x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 3 : i64, num_kv_heads = 2 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_sliding_window_zero(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  // expected-error @+1 {{expected window > 0 on a sliding layer, got 0}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_full_with_window(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  // expected-error @+1 {{expected window 0 on a full layer, got 4}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 4 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_rotary_dims(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  // expected-error @+1 {{expected an even rotary_dims in [0, 4], got 3}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 3 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_q_proj_shape(%x: tensor<3x8xf32>, %s: index, %q: tensor<6x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  // expected-error @+1 {{expected q_proj of shape [8, 8], got [6, 8]}}
  %a = gemma.attention %x at %s q(%q : tensor<6x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_owner_without_k(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>) {
  // expected-error @+1 {{expected k_proj and k_norm on a layer that owns its KV cache}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_k_eq_v_with_v(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  // expected-error @+1 {{expected no v_proj on a k_eq_v layer}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = true} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_owner_later_layer(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>) {
  // expected-error @+1 {{expected kv_owner in [0, 1], got 2}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 2 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_owner_missing(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>) {
  // expected-error @+1 {{kv_owner 0 names no attention op in this block}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_owner_other_kind(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  // expected-error @+1 {{expected kv_owner 0 to be a full layer, got sliding}}
  %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_attention_owner_is_shared(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>, %k: tensor<4x8xbf16>) {
  %a0 = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) k(%k : tensor<4x8xbf16>) v(%k : tensor<4x8xbf16>) k_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  %a1 = gemma.attention %a0 at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 1 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 0 : i64, k_eq_v = false} : tensor<3x8xf32>
  // expected-error @+1 {{kv_owner 1 does not own a KV cache (it reads layer 0's)}}
  %a2 = gemma.attention %a1 at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 2 : i64, kind = #gemma.attention_kind<sliding>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 2 : i64, rope_theta = 1.0e4 : f64, rotary_dims = 4 : i64, kv_owner = 1 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_mlp_down(%x: tensor<3x8xf32>, %g: tensor<16x8xbf16>, %d: tensor<8x12xbf16>) {
  // expected-error @+1 {{expected down of shape [8, 16], got [8, 12]}}
  %m = gemma.mlp %x gate(%g : tensor<16x8xbf16>) up(%g : tensor<16x8xbf16>) down(%d : tensor<8x12xbf16>) : tensor<3x8xf32>
  return
}

// -----

func.func @negative_moe_top_k(%x: tensor<3x8xf32>, %r: tensor<4x8xbf16>, %n: tensor<8xbf16>, %pe: tensor<4xbf16>, %gu: tensor<4x12x8xbf16>, %ed: tensor<4x8x6xbf16>) {
  // expected-error @+1 {{expected top_k in [1, 4], got 5}}
  %e = gemma.moe %x router_input(%x) router(%r : tensor<4x8xbf16>) router_scale(%n : tensor<8xbf16>) per_expert_scale(%pe : tensor<4xbf16>) gate_up(%gu : tensor<4x12x8xbf16>) down(%ed : tensor<4x8x6xbf16>) {top_k = 5 : i64} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_moe_gate_up(%x: tensor<3x8xf32>, %r: tensor<4x8xbf16>, %n: tensor<8xbf16>, %pe: tensor<4xbf16>, %gu: tensor<4x6x8xbf16>, %ed: tensor<4x8x6xbf16>) {
  // expected-error @+1 {{expected gate_up of shape [4, 12, 8], got [4, 6, 8]}}
  %e = gemma.moe %x router_input(%x) router(%r : tensor<4x8xbf16>) router_scale(%n : tensor<8xbf16>) per_expert_scale(%pe : tensor<4xbf16>) gate_up(%gu : tensor<4x6x8xbf16>) down(%ed : tensor<4x8x6xbf16>) {top_k = 2 : i64} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_per_layer_input_layer(%x: tensor<3x8xf32>, %ple: tensor<3x2x4xf32>, %g: tensor<4x8xbf16>, %p: tensor<8x4xbf16>, %n: tensor<8xbf16>) {
  // expected-error @+1 {{expected index in [0, 2), got 2}}
  %y = gemma.per_layer_input %x, %ple gate(%g : tensor<4x8xbf16>) projection(%p : tensor<8x4xbf16>) norm(%n : tensor<8xbf16>) {index = 2 : i64} : tensor<3x8xf32>, tensor<3x2x4xf32>
  return
}

// -----

func.func @negative_layer_scale_shape(%x: tensor<3x8xf32>, %s: tensor<8xbf16>) {
  // expected-error @+1 {{expected scalar of shape [1], got [8]}}
  %y = gemma.layer_scale %x scalar(%s : tensor<8xbf16>) : tensor<3x8xf32>
  return
}

// -----

func.func @negative_logits_vocab(%x: tensor<3x8xf32>, %n: tensor<8xbf16>, %E: tensor<32x8xbf16>) {
  // expected-error @+1 {{expected a [3 or 1, 32] result, got [3, 16]}}
  %z = gemma.logits %x norm(%n : tensor<8xbf16>) embedding(%E : tensor<32x8xbf16>) : tensor<3x8xf32> -> tensor<3x16xf32>
  return
}

// -----

// One row (the last) or every row; nothing in between.
func.func @negative_logits_rows(%x: tensor<3x8xf32>, %n: tensor<8xbf16>, %E: tensor<32x8xbf16>) {
  // expected-error @+1 {{expected a [3 or 1, 32] result, got [2, 32]}}
  %z = gemma.logits %x norm(%n : tensor<8xbf16>) embedding(%E : tensor<32x8xbf16>) : tensor<3x8xf32> -> tensor<2x32xf32>
  return
}

// -----

func.func @negative_logits_softcap(%x: tensor<3x8xf32>, %n: tensor<8xbf16>, %E: tensor<32x8xbf16>) {
  // expected-error @+1 {{expected softcap > 0, got -1}}
  %z = gemma.logits %x norm(%n : tensor<8xbf16>) embedding(%E : tensor<32x8xbf16>) {softcap = -1.0 : f64} : tensor<3x8xf32> -> tensor<3x32xf32>
  return
}

// -----

// Negative i64 attributes are caught (the getters return uint64_t).
func.func @negative_per_layer_input_negative_layer(%x: tensor<3x8xf32>, %ple: tensor<3x2x4xf32>, %g: tensor<4x8xbf16>, %p: tensor<8x4xbf16>, %n: tensor<8xbf16>) {
  // expected-error @+1 {{expected index in [0, 2), got -1}}
  %y = gemma.per_layer_input %x, %ple gate(%g : tensor<4x8xbf16>) projection(%p : tensor<8x4xbf16>) norm(%n : tensor<8xbf16>) {index = -1 : i64} : tensor<3x8xf32>, tensor<3x2x4xf32>
  return
}

// -----

func.func @negative_attention_negative_owner(%x: tensor<3x8xf32>, %s: index, %q: tensor<8x8xbf16>, %o: tensor<8x8xbf16>, %hn: tensor<4xbf16>) {
  // expected-error @+1 {{expected kv_owner in [0, 0], got -1}}
  %a = gemma.attention %x at %s q(%q : tensor<8x8xbf16>) o(%o : tensor<8x8xbf16>) q_norm(%hn : tensor<4xbf16>) {layer = 0 : i64, kind = #gemma.attention_kind<full>, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, window = 0 : i64, rope_theta = 1.0e6 : f64, rotary_dims = 2 : i64, kv_owner = -1 : i64, k_eq_v = false} : tensor<3x8xf32>
  return
}

// -----

func.func @negative_kv_projection_shape(%a: tensor<5x64xf32>, %s: index, %f: tensor<8xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>) {
  // expected-error @+1 {{expected kv of shape [2, T, kv heads, head_dim], got 'tensor<5x1x16xf32>'}}
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) v(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, k_eq_v = false} : tensor<5x64xf32> -> tensor<5x1x16xf32>
  return
}

// -----

func.func @negative_kv_projection_tokens(%a: tensor<5x64xf32>, %s: index, %f: tensor<8xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>) {
  // expected-error @+1 {{expected kv for 5 tokens, got 4}}
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) v(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, k_eq_v = false} : tensor<5x64xf32> -> tensor<2x4x1x16xf32>
  return
}

// -----

func.func @negative_kv_projection_k_eq_v_with_v(%a: tensor<5x64xf32>, %s: index, %f: tensor<8xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>) {
  // expected-error @+1 {{expected no v_proj on a k_eq_v layer}}
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) v(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, k_eq_v = true} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_kv_projection_missing_v(%a: tensor<5x64xf32>, %s: index, %f: tensor<8xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>) {
  // expected-error @+1 {{expected v_proj (the layer is not k_eq_v)}}
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, k_eq_v = false} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_kv_projection_too_many_frequencies(%a: tensor<5x64xf32>, %s: index, %f: tensor<9xf64>, %k: tensor<16x64xbf16>, %n: tensor<16xbf16>) {
  // expected-error @+1 {{expected at most 8 rotary frequencies, got 9}}
  %kv = gemma.kv_projection %a at %s k(%k : tensor<16x64xbf16>) v(%k : tensor<16x64xbf16>) k_norm(%n : tensor<16xbf16>) rope(%f : tensor<9xf64>) {layer = 0 : i64, k_eq_v = false} : tensor<5x64xf32> -> tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_cached_attention_heads(%a: tensor<5x64xf32>, %kv: tensor<2x5x2x16xf32>, %s: index, %f: tensor<8xf64>, %n: tensor<16xbf16>, %q: tensor<48x64xbf16>, %o: tensor<64x48xbf16>) {
  // expected-error @+1 {{expected num_heads to be a positive multiple of the 2 kv heads, got 3}}
  %y = gemma.cached_attention %a, %kv at %s q(%q : tensor<48x64xbf16>) o(%o : tensor<64x48xbf16>) q_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 0 : i64, kv_owner = 0 : i64, num_heads = 3 : i64, window = 4 : i64, cache_slots = 4 : i64} : tensor<5x64xf32>, tensor<2x5x2x16xf32>
  return
}

// -----

func.func @negative_cached_attention_owner(%a: tensor<5x64xf32>, %kv: tensor<2x5x1x16xf32>, %s: index, %f: tensor<8xf64>, %n: tensor<16xbf16>, %q: tensor<32x64xbf16>, %o: tensor<64x32xbf16>) {
  // expected-error @+1 {{expected kv_owner in [0, 1], got 2}}
  %y = gemma.cached_attention %a, %kv at %s q(%q : tensor<32x64xbf16>) o(%o : tensor<64x32xbf16>) q_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 1 : i64, kv_owner = 2 : i64, num_heads = 2 : i64, window = 4 : i64, cache_slots = 4 : i64} : tensor<5x64xf32>, tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_cached_attention_slots(%a: tensor<5x64xf32>, %kv: tensor<2x5x1x16xf32>, %s: index, %f: tensor<8xf64>, %n: tensor<16xbf16>, %q: tensor<32x64xbf16>, %o: tensor<64x32xbf16>) {
  // expected-error @+1 {{expected window >= 0 and cache_slots > 0}}
  %y = gemma.cached_attention %a, %kv at %s q(%q : tensor<32x64xbf16>) o(%o : tensor<64x32xbf16>) q_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 1 : i64, kv_owner = 0 : i64, num_heads = 2 : i64, window = 4 : i64, cache_slots = 0 : i64} : tensor<5x64xf32>, tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_cached_attention_q_proj(%a: tensor<5x64xf32>, %kv: tensor<2x5x1x16xf32>, %s: index, %f: tensor<8xf64>, %n: tensor<16xbf16>, %q: tensor<16x64xbf16>, %o: tensor<64x32xbf16>) {
  // expected-error @+1 {{expected q_proj of shape [32, 64], got [16, 64]}}
  %y = gemma.cached_attention %a, %kv at %s q(%q : tensor<16x64xbf16>) o(%o : tensor<64x32xbf16>) q_norm(%n : tensor<16xbf16>) rope(%f : tensor<8xf64>) {layer = 1 : i64, kv_owner = 0 : i64, num_heads = 2 : i64, window = 4 : i64, cache_slots = 4 : i64} : tensor<5x64xf32>, tensor<2x5x1x16xf32>
  return
}

// -----

func.func @negative_kv_store_slots(%kv: tensor<2x5x1x16xf32>, %s: index) {
  // expected-error @+1 {{expected cache_slots > 0}}
  gemma.kv_store %kv at %s {layer = 0 : i64, cache_slots = -1 : i64} : tensor<2x5x1x16xf32>
  return
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  // expected-error @+1 {{expected 9 rows from the parts, got 8}}
  gemma.fused_weight @kk : tensor<9x8xbf16> = concat [@k, @k]
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  gemma.weight @o : tensor<8x4xbf16> = "o" in "m.safetensors"
  // expected-error @+1 {{expected parts of 8 columns, got 'tensor<8x4xbf16>' for 'o'}}
  gemma.fused_weight @ko : tensor<12x8xbf16> = concat [@k, @o]
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  // expected-error @+1 {{part 'nothing' does not name a gemma.weight}}
  gemma.fused_weight @kn : tensor<8x8xbf16> = concat [@k, @nothing]
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  gemma.weight @g : tensor<4xbf16> = "g" in "m.safetensors"
  // expected-error @+1 {{expected a scale of 8 values, got 'tensor<4xbf16>'}}
  gemma.fused_weight @kg : tensor<4x8xf32> = concat [@k] scaled_by @g
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  gemma.weight @g : tensor<8xbf16> = "g" in "m.safetensors"
  // expected-error @+1 {{expected f32 (scaled values are computed in f32)}}
  gemma.fused_weight @kg : tensor<4x8xbf16> = concat [@k] scaled_by @g
}

// -----

module {
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  // expected-error @+1 {{expected the parts' element type 'bf16'}}
  gemma.fused_weight @k32 : tensor<4x8xf32> = concat [@k]
}
