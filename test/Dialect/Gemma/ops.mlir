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
