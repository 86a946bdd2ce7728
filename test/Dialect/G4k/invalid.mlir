// RUN: g4c-opt %s -split-input-file -verify-diagnostics
// The g4k verifiers: kernels are called at static, consistent shapes.

func.func @negative_linear_inner(%x: memref<2x6xf32>, %w: memref<8x8xbf16>, %y: memref<2x8xf32>) {
  // expected-error @+1 {{expected x rows of 8 values, got 'memref<2x6xf32>'}}
  g4k.linear %x, %w -> %y : memref<2x6xf32>, memref<8x8xbf16> -> memref<2x8xf32>
  return
}

// -----

func.func @negative_linear_out(%x: memref<2x8xf32>, %w: memref<4x8xbf16>, %y: memref<2x8xf32>) {
  // expected-error @+1 {{expected y of shape [2, 4], got 'memref<2x8xf32>'}}
  g4k.linear %x, %w -> %y : memref<2x8xf32>, memref<4x8xbf16> -> memref<2x8xf32>
  return
}

// -----

func.func @negative_dynamic(%x: memref<?x8xf32>, %w: memref<8x8xbf16>, %y: memref<2x8xf32>) {
  // expected-error @+1 {{expected static shapes, got 'memref<?x8xf32>'}}
  g4k.linear %x, %w -> %y : memref<?x8xf32>, memref<8x8xbf16> -> memref<2x8xf32>
  return
}

// -----

func.func @negative_rms_norm_weight(%x: memref<2x8xf32>, %w: memref<4xbf16>) {
  // expected-error @+1 {{expected a weight of 8 values}}
  g4k.rms_norm %x weight(%w : memref<4xbf16>) -> %x {epsilon = 1.0e-6 : f64} : memref<2x8xf32> -> memref<2x8xf32>
  return
}

// -----

func.func @negative_rope_frequencies(%h: memref<2x2x4xf32>, %f: memref<3xf64>, %s: index) {
  // expected-error @+1 {{expected at most head_dim / 2 frequencies}}
  g4k.rope %h, %f at %s : memref<2x2x4xf32>, memref<3xf64>
  return
}

// -----

func.func @negative_attend_grouping(%q: memref<2x3x4xf32>, %c: memref<4x2x4xf32>, %scores: memref<8xf32>, %s: index) {
  // expected-error @+1 {{expected query heads grouping the cache's kv heads at one head_dim}}
  g4k.attend %q, %c, %c scores(%scores : memref<8xf32>) at %s -> %q {window = 0 : i64} : memref<2x3x4xf32>, memref<4x2x4xf32>, memref<4x2x4xf32> -> memref<2x3x4xf32>
  return
}

// -----

func.func @negative_attend_scores(%q: memref<2x2x4xf32>, %c: memref<4x1x4xf32>, %scores: memref<5xf32>, %s: index) {
  // expected-error @+1 {{expected scores scratch of at least 6 floats}}
  g4k.attend %q, %c, %c scores(%scores : memref<5xf32>) at %s -> %q {window = 0 : i64} : memref<2x2x4xf32>, memref<4x1x4xf32>, memref<4x1x4xf32> -> memref<2x2x4xf32>
  return
}

// -----

func.func @negative_kv_store_geometry(%k: memref<2x1x4xf32>, %c: memref<4x2x4xf32>, %s: index) {
  // expected-error @+1 {{expected k [T, kv heads, head_dim] and a cache [slots, kv heads, head_dim]}}
  g4k.kv_store %k, %k at %s -> %c, %c : memref<2x1x4xf32> -> memref<4x2x4xf32>
  return
}

// -----

func.func @negative_gelu_gate_shapes(%g: memref<2x4xf32>, %u: memref<2x8xf32>) {
  // expected-error @+1 {{expected up of shape [2, 4], got 'memref<2x8xf32>'}}
  g4k.gelu_gate %g, %u -> %g : memref<2x4xf32>, memref<2x8xf32> -> memref<2x4xf32>
  return
}

// -----

func.func @negative_ple_combine_table(%t: memref<2xi32>, %w: memref<8x6xbf16>, %h: memref<2x2x4xf32>, %n: memref<4xbf16>) {
  // expected-error @+1 {{expected a table whose rows hold layers [0, 2) of 4 values}}
  g4k.ple_combine %t, %w, %h, %n -> %h {table_scale = 2.0 : f64, context_scale = 0.5 : f64, epsilon = 1.0e-6 : f64} : memref<2xi32>, memref<8x6xbf16>, memref<2x2x4xf32>, memref<4xbf16> -> memref<2x2x4xf32>
  return
}

// -----

func.func @negative_embed_out(%t: memref<2xi32>, %w: memref<8x8xbf16>, %x: memref<3x8xf32>) {
  // expected-error @+1 {{expected out of shape [2, 8], got 'memref<3x8xf32>'}}
  g4k.embed %t, %w -> %x {scale = 2.0 : f64} : memref<2xi32>, memref<8x8xbf16> -> memref<3x8xf32>
  return
}

// -----

func.func @negative_fused_linear_widths(%x: memref<2x8xf32>, %w: memref<12x8xbf16>, %a: memref<2x4xf32>, %b: memref<2x4xf32>) {
  // expected-error @+1 {{expected two or more outputs whose widths sum to the 12 weight rows, got 8}}
  g4k.fused_linear %x, %w -> %a, %b : memref<2x8xf32>, memref<12x8xbf16> -> memref<2x4xf32>, memref<2x4xf32>
  return
}

// -----

func.func @negative_fused_linear_rows(%x: memref<2x8xf32>, %w: memref<8x8xbf16>, %a: memref<2x4xf32>, %b: memref<3x4xf32>) {
  // expected-error @+1 {{expected outputs of 2 rows, got 'memref<3x4xf32>'}}
  g4k.fused_linear %x, %w -> %a, %b : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x4xf32>, memref<3x4xf32>
  return
}

// -----

func.func @negative_int8_cache_without_scales(%q: memref<2x2x4xf32>, %c: memref<4x1x4xi8>, %scores: memref<8xf32>, %s: index) {
  // expected-error @+1 {{expected k and v scales with an int8 cache}}
  g4k.attend %q, %c, %c scores(%scores : memref<8xf32>) at %s -> %q {window = 0 : i64} : memref<2x2x4xf32>, memref<4x1x4xi8>, memref<4x1x4xi8> -> memref<2x2x4xf32>
  return
}

// -----

func.func @negative_scales_with_f32_cache(%k: memref<2x1x4xf32>, %c: memref<4x1x4xf32>, %cs: memref<4x1xf32>, %s: index) {
  // expected-error @+1 {{expected scales only with an int8 cache}}
  g4k.kv_store %k, %k at %s -> %c, %c scales(%cs, %cs : memref<4x1xf32>, memref<4x1xf32>) : memref<2x1x4xf32> -> memref<4x1x4xf32>
  return
}

// -----

func.func @negative_scales_shape(%k: memref<2x1x4xf32>, %c: memref<4x1x4xi8>, %cs: memref<4x2xf32>, %s: index) {
  // expected-error @+1 {{expected k_scales of shape [4, 1]}}
  g4k.kv_store %k, %k at %s -> %c, %c scales(%cs, %cs : memref<4x2xf32>, memref<4x2xf32>) : memref<2x1x4xf32> -> memref<4x1x4xi8>
  return
}
