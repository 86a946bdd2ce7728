// RUN: g4c-opt %s -split-input-file -g4c-expand-softcap | FileCheck %s

// softcap(x; 30) = 30 * tanh(x / 30), elementwise, the cap splatted in x's type.
// CHECK-LABEL: func.func @softcap_30_f32
// CHECK-SAME: (%[[X:.+]]: tensor<2x5xf32>)
// CHECK: %[[CAP:.+]] = arith.constant dense<3.000000e+01> : tensor<2x5xf32>
// CHECK: %[[DIV:.+]] = arith.divf %[[X]], %[[CAP]] : tensor<2x5xf32>
// CHECK: %[[TANH:.+]] = math.tanh %[[DIV]] : tensor<2x5xf32>
// CHECK: %[[MUL:.+]] = arith.mulf %[[TANH]], %[[CAP]] : tensor<2x5xf32>
// CHECK: return %[[MUL]]
// CHECK-NOT: gemma.softcap
func.func @softcap_30_f32(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %y = gemma.softcap %x {cap = 30.0 : f64} : tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// The cap constant takes the element type of the input.
// CHECK-LABEL: func.func @softcap_50_bf16
// CHECK: arith.constant dense<5.000000e+01> : tensor<3xbf16>
func.func @softcap_50_bf16(%x: tensor<3xbf16>) -> tensor<3xbf16> {
  %y = gemma.softcap %x {cap = 50.0 : f64} : tensor<3xbf16>
  return %y : tensor<3xbf16>
}

// -----

// Other gemma ops are left alone.
// CHECK-LABEL: func.func @negative_rms_norm_untouched
// CHECK: gemma.rms_norm
// CHECK-NOT: arith.
func.func @negative_rms_norm_untouched(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = gemma.rms_norm %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
