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
