// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-plan-memory -g4c-lower-to-kernels | FileCheck %s

// Embedding, per-layer inputs, the injection of layer 1's slice, the MLP
// and the logits of two tokens. Plan: h0 at 0, ple at 64, x at 128, m at
// 0 (h0 is dead), the logits in the argument; the scratch region starts at
// the plan's end (192) and is reused by every op; the largest user is the
// MLP (gate and up, 2 x [2, 16] floats = 256 bytes).
// CHECK: gemma.memory_plan = {activation_bytes = 192 : i64, arena_bytes = 448 : i64
// CHECK-SAME: scratch_bytes = 256 : i64, scratch_offset = 192 : i64
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[W:.+]]: memref<?xi8>, %[[ARENA:.+]]: memref<?xi8>, %[[TOKENS:.+]]: memref<2xi32>, %[[START:.+]]: index, %[[LOGITS:.+]]: memref<2x16xf32>) attributes {g4k.entry}
// One constant per offset, at the top.
// CHECK-NEXT: arith.constant 0 : index
// CHECK-NEXT: arith.constant 64 : index
// CHECK-NEXT: %[[C192:.+]] = arith.constant 192 : index
// CHECK: %[[E:.+]] = g4k.weight @e : memref<16x8xbf16>
// CHECK: %[[H0:.+]] = memref.view %[[ARENA]][%{{.+}}][] {g4k.name = "embed_0"} : memref<?xi8> to memref<2x8xf32>
// CHECK: g4k.embed %[[TOKENS]], %[[E]] -> %[[H0]] {scale = 2.000000e+00 : f64}
// Per-layer inputs: one context projection into scratch, one combine.
// CHECK: %[[PLE:.+]] = memref.view %[[ARENA]][%{{.+}}][] {g4k.name = "per_layer_inputs_1"} : memref<?xi8> to memref<2x2x4xf32>
// CHECK: %[[CTX:.+]] = memref.view %[[ARENA]][%[[C192]]][] {g4k.name = "ple_context_2"} : memref<?xi8> to memref<2x8xf32>
// CHECK: g4k.linear %[[H0]], %{{.+}} -> %[[CTX]]
// CHECK: %[[CTX3:.+]] = memref.view %[[ARENA]][%[[C192]]][] {g4k.name = "ple_context_2"} : memref<?xi8> to memref<2x2x4xf32>
// CHECK: g4k.ple_combine %[[TOKENS]], %{{.+}}, %[[CTX3]], %{{.+}} -> %[[PLE]] {context_scale = 0.35355339059327373 : f64
// Layer 1's slice: rows 8 floats apart, 4 floats in.
// CHECK: %[[GATE:.+]] = memref.view %[[ARENA]][%[[C192]]][] {g4k.name = "ple_gate_{{[0-9]+}}"} : memref<?xi8> to memref<2x4xf32>
// CHECK: %[[SLICE:.+]] = memref.subview %[[PLE]][0, 1, 0] [2, 1, 4] [1, 1, 1] : memref<2x2x4xf32> to memref<2x4xf32, strided<[8, 1], offset: 4>>
// CHECK: g4k.gelu_gate %[[GATE]], %[[SLICE]] -> %[[GATE]]
// CHECK: g4k.add
// MLP: gate and up in scratch, the gated GELU in place, down into m.
// CHECK: g4k.linear {{.*}} -> %[[G:.+]] : memref<2x8xf32>, memref<16x8xbf16> -> memref<2x16xf32>
// CHECK: g4k.linear {{.*}} -> %[[U:.+]] : memref<2x8xf32>, memref<16x8xbf16> -> memref<2x16xf32>
// CHECK: g4k.gelu_gate %[[G]], %[[U]] -> %[[G]]
// CHECK: g4k.linear %[[G]]
// Logits: the final norm in scratch, the LM head into the argument.
// CHECK: g4k.rms_norm {{.*}} -> %[[N:.+]] {epsilon
// CHECK: g4k.linear %[[N]], %[[E]] -> %[[LOGITS]]
// CHECK: g4k.softcap %[[LOGITS]] {cap = 3.000000e+01 : f64}
// CHECK-NEXT: return
module attributes {gemma.context_length = 8 : i64, gemma.prefill_chunk = 2 : i64} {
  gemma.weight @e : tensor<16x8xbf16> = "e" in "m.safetensors"
  gemma.weight @pt : tensor<16x8xbf16> = "pt" in "m.safetensors"
  gemma.weight @pp : tensor<8x8xbf16> = "pp" in "m.safetensors"
  gemma.weight @pn : tensor<4xbf16> = "pn" in "m.safetensors"
  gemma.weight @ig : tensor<4x8xbf16> = "ig" in "m.safetensors"
  gemma.weight @ip : tensor<8x4xbf16> = "ip" in "m.safetensors"
  gemma.weight @n8 : tensor<8xbf16> = "n8" in "m.safetensors"
  gemma.weight @g : tensor<16x8xbf16> = "g" in "m.safetensors"
  gemma.weight @d : tensor<8x16xbf16> = "d" in "m.safetensors"
  func.func @decode(%tokens: tensor<2xi32>, %s: index) -> tensor<2x16xf32> {
    %e = gemma.weight_ref @e : tensor<16x8xbf16>
    %h0 = gemma.embed %tokens table(%e : tensor<16x8xbf16>) {scale = 2.0 : f64} : tensor<2xi32> -> tensor<2x8xf32>
    %pt = gemma.weight_ref @pt : tensor<16x8xbf16>
    %pp = gemma.weight_ref @pp : tensor<8x8xbf16>
    %pn = gemma.weight_ref @pn : tensor<4xbf16>
    %ple = gemma.per_layer_inputs %tokens, %h0 table(%pt : tensor<16x8xbf16>) projection(%pp : tensor<8x8xbf16>) norm(%pn : tensor<4xbf16>) {table_scale = 2.0 : f64} : tensor<2xi32>, tensor<2x8xf32> -> tensor<2x2x4xf32>
    %ig = gemma.weight_ref @ig : tensor<4x8xbf16>
    %ip = gemma.weight_ref @ip : tensor<8x4xbf16>
    %n8 = gemma.weight_ref @n8 : tensor<8xbf16>
    %x = gemma.per_layer_input %h0, %ple gate(%ig : tensor<4x8xbf16>) projection(%ip : tensor<8x4xbf16>) norm(%n8 : tensor<8xbf16>) {index = 1 : i64} : tensor<2x8xf32>, tensor<2x2x4xf32>
    %g = gemma.weight_ref @g : tensor<16x8xbf16>
    %d = gemma.weight_ref @d : tensor<8x16xbf16>
    %m = gemma.mlp %x gate(%g : tensor<16x8xbf16>) up(%g : tensor<16x8xbf16>) down(%d : tensor<8x16xbf16>) : tensor<2x8xf32>
    %z = gemma.logits %m norm(%n8 : tensor<8xbf16>) embedding(%e : tensor<16x8xbf16>) {softcap = 30.0 : f64} : tensor<2x8xf32> -> tensor<2x16xf32>
    return %z : tensor<2x16xf32>
  }
}

// -----

module attributes {gemma.context_length = 8 : i64} {
  // expected-error @+1 {{is not an entry point (tensor<Txi32>, index) -> tensor<TxVxf32>}}
  func.func @negative_not_an_entry_point(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    return %x : tensor<2x8xf32>
  }
}

// -----

// Logits of the last of three rows: the norm and the LM head read row 2 of
// the embeddings (8 floats = 32 bytes a row, so 64 bytes in) and write one
// row of logits.
// CHECK-LABEL: func.func @prefill_last
// CHECK-SAME: (%{{[^:]+}}: memref<?xi8>, %[[ARENA:[^:]+]]: memref<?xi8>, %{{[^:]+}}: memref<3xi32>, %{{.+}}: index, %[[LOGITS:.+]]: memref<1x16xf32>)
// CHECK: %[[C64:.+]] = arith.constant 64 : index
// CHECK: %[[E:.+]] = g4k.weight @e : memref<16x8xbf16>
// CHECK: g4k.embed %{{.+}}, %[[E]] -> %{{.+}} {scale = 2.000000e+00 : f64} : memref<3xi32>, memref<16x8xbf16> -> memref<3x8xf32>
// CHECK: %[[LAST:.+]] = memref.view %[[ARENA]][%[[C64]]][] {g4k.name = "embed_{{[0-9]+}}_last"} : memref<?xi8> to memref<1x8xf32>
// CHECK: g4k.rms_norm %[[LAST]] weight(%{{.+}} : memref<8xbf16>) -> %[[N:[^ ]+]] {epsilon = {{.+}}} : memref<1x8xf32> -> memref<1x8xf32>
// CHECK: g4k.linear %[[N]], %[[E]] -> %[[LOGITS]] : memref<1x8xf32>, memref<16x8xbf16> -> memref<1x16xf32>
// CHECK-NEXT: return
module attributes {gemma.context_length = 8 : i64, gemma.prefill_chunk = 3 : i64} {
  gemma.weight @e : tensor<16x8xbf16> = "e" in "m.safetensors"
  gemma.weight @n8 : tensor<8xbf16> = "n8" in "m.safetensors"
  func.func @prefill_last(%tokens: tensor<3xi32>, %s: index) -> tensor<1x16xf32> {
    %e = gemma.weight_ref @e : tensor<16x8xbf16>
    %h0 = gemma.embed %tokens table(%e : tensor<16x8xbf16>) {scale = 2.0 : f64} : tensor<3xi32> -> tensor<3x8xf32>
    %n8 = gemma.weight_ref @n8 : tensor<8xbf16>
    %z = gemma.logits %h0 norm(%n8 : tensor<8xbf16>) embedding(%e : tensor<16x8xbf16>) : tensor<3x8xf32> -> tensor<1x16xf32>
    return %z : tensor<1x16xf32>
  }
}
