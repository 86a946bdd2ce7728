// RUN: g4c-opt %s -split-input-file -g4c-fuse-per-layer-inputs | FileCheck %s

// Three layers' per-layer inputs become one op for layers 0..2, placed
// where layer 0's was; each injection reads its layer's slice.
// CHECK-LABEL: func.func @three_layers
// CHECK: %[[PLE:.+]] = gemma.per_layer_inputs %{{.+}}, %{{.+}} table({{.*}}) projection({{.*}}) norm({{.*}}) {table_scale = 2.000000e+00 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x3x4xf32>
// CHECK-NOT: gemma.per_layer_inputs
// CHECK: gemma.per_layer_input %{{.+}}, %[[PLE]] {{.*}} {index = 0 : i64}
// CHECK: gemma.per_layer_input %{{.+}}, %[[PLE]] {{.*}} {index = 1 : i64}
// CHECK: gemma.per_layer_input %{{.+}}, %[[PLE]] {{.*}} {index = 2 : i64}
func.func @three_layers(%t: tensor<3xi32>, %h: tensor<3x8xf32>, %tab: tensor<32x12xbf16>, %p: tensor<12x8xbf16>, %n: tensor<4xbf16>, %g: tensor<4x8xbf16>, %o: tensor<8x4xbf16>, %n8: tensor<8xbf16>) -> tensor<3x8xf32> {
  %p0 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 0 : i64, table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  %x0 = gemma.per_layer_input %h, %p0 gate(%g : tensor<4x8xbf16>) projection(%o : tensor<8x4xbf16>) norm(%n8 : tensor<8xbf16>) {index = 0 : i64} : tensor<3x8xf32>, tensor<3x1x4xf32>
  %p1 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 1 : i64, table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  %x1 = gemma.per_layer_input %x0, %p1 gate(%g : tensor<4x8xbf16>) projection(%o : tensor<8x4xbf16>) norm(%n8 : tensor<8xbf16>) {index = 0 : i64} : tensor<3x8xf32>, tensor<3x1x4xf32>
  %p2 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 2 : i64, table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  %x2 = gemma.per_layer_input %x1, %p2 gate(%g : tensor<4x8xbf16>) projection(%o : tensor<8x4xbf16>) norm(%n8 : tensor<8xbf16>) {index = 0 : i64} : tensor<3x8xf32>, tensor<3x1x4xf32>
  return %x2 : tensor<3x8xf32>
}

// -----

// Different table scales do not merge; an op whose result leaves the
// function (not an injection) stays as it is.
// CHECK-LABEL: func.func @not_fused
// CHECK-COUNT-3: gemma.per_layer_inputs
func.func @not_fused(%t: tensor<3xi32>, %h: tensor<3x8xf32>, %tab: tensor<32x12xbf16>, %p: tensor<12x8xbf16>, %n: tensor<4xbf16>) -> (tensor<3x1x4xf32>, tensor<3x1x4xf32>, tensor<3x1x4xf32>) {
  %p0 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 0 : i64, table_scale = 2.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  %p1 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 1 : i64, table_scale = 3.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  %p2 = gemma.per_layer_inputs %t, %h table(%tab : tensor<32x12xbf16>) projection(%p : tensor<12x8xbf16>) norm(%n : tensor<4xbf16>) {first_layer = 2 : i64, table_scale = 3.0 : f64} : tensor<3xi32>, tensor<3x8xf32> -> tensor<3x1x4xf32>
  return %p0, %p1, %p2 : tensor<3x1x4xf32>, tensor<3x1x4xf32>, tensor<3x1x4xf32>
}
