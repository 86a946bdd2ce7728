// RUN: g4c-opt %s -split-input-file -g4c-fuse-projections | FileCheck %s
// RUN: g4c-opt %s -split-input-file -g4c-fuse-projections="fold-norms=false" | FileCheck %s --check-prefix=NOFOLD

// An attention block's projections: k and v of the normed input, then (after
// the k norm, in place on k) q of the same input. All three stack into one
// matmul at k's place; the input norm's weight folds into the stacked
// weight (its only readers are these projections), computed in f32.
// CHECK: gemma.fused_weight @"k+v+q*g" : tensor<16x8xf32> = concat [@k, @v, @q] scaled_by @g
// CHECK-LABEL: func.func @qkv
// CHECK: g4k.rms_norm %[[X:.+]] -> %[[A:.+]] {epsilon
// CHECK: %[[W:.+]] = g4k.weight @"k+v+q*g" : memref<16x8xf32>
// CHECK-NEXT: g4k.fused_linear %[[A]], %[[W]] -> %[[K:.+]], %[[V:.+]], %[[Q:.+]] : memref<1x8xf32>, memref<16x8xf32> -> memref<1x4xf32>, memref<1x4xf32>, memref<1x8xf32>
// CHECK: g4k.rms_norm %[[K]] weight
// CHECK-NOT: g4k.linear %[[A]]
// NOFOLD: gemma.fused_weight @"k+v+q" : tensor<16x8xbf16> = concat [@k, @v, @q]
// NOFOLD-LABEL: func.func @qkv
// NOFOLD: g4k.rms_norm %{{.+}} weight(%{{.+}} : memref<8xbf16>)
// NOFOLD: g4k.fused_linear
module {
  gemma.weight @g : tensor<8xbf16> = "g" in "m.safetensors"
  gemma.weight @n : tensor<4xbf16> = "n" in "m.safetensors"
  gemma.weight @k : tensor<4x8xbf16> = "k" in "m.safetensors"
  gemma.weight @v : tensor<4x8xbf16> = "v" in "m.safetensors"
  gemma.weight @q : tensor<8x8xbf16> = "q" in "m.safetensors"
  func.func @qkv(%w: memref<?xi8>, %arena: memref<?xi8>, %tokens: memref<1xi32>, %start: index, %logits: memref<1x16xf32>) attributes {g4k.entry} {
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %c128 = arith.constant 128 : index
    %c192 = arith.constant 192 : index
    %c256 = arith.constant 256 : index
    %x = memref.view %arena[%c0][] {g4k.name = "x"} : memref<?xi8> to memref<1x8xf32>
    %a = memref.view %arena[%c64][] {g4k.name = "a"} : memref<?xi8> to memref<1x8xf32>
    %g = g4k.weight @g : memref<8xbf16>
    g4k.rms_norm %x weight(%g : memref<8xbf16>) -> %a {epsilon = 1.0e-6 : f64} : memref<1x8xf32> -> memref<1x8xf32>
    %k = memref.view %arena[%c128][] {g4k.name = "k"} : memref<?xi8> to memref<1x4xf32>
    %wk = g4k.weight @k : memref<4x8xbf16>
    g4k.linear %a, %wk -> %k : memref<1x8xf32>, memref<4x8xbf16> -> memref<1x4xf32>
    %v = memref.view %arena[%c192][] {g4k.name = "v"} : memref<?xi8> to memref<1x4xf32>
    %wv = g4k.weight @v : memref<4x8xbf16>
    g4k.linear %a, %wv -> %v : memref<1x8xf32>, memref<4x8xbf16> -> memref<1x4xf32>
    %n = g4k.weight @n : memref<4xbf16>
    g4k.rms_norm %k weight(%n : memref<4xbf16>) -> %k {epsilon = 1.0e-6 : f64} : memref<1x4xf32> -> memref<1x4xf32>
    %q = memref.view %arena[%c256][] {g4k.name = "q"} : memref<?xi8> to memref<1x8xf32>
    %wq = g4k.weight @q : memref<8x8xbf16>
    g4k.linear %a, %wq -> %q : memref<1x8xf32>, memref<8x8xbf16> -> memref<1x8xf32>
    return
  }
}

// -----

// Not fused: the input is rewritten between the two linears, and a linear
// whose output an op in between reads cannot move up. Not folded: the normed
// values also feed an add.
// CHECK-LABEL: func.func @blocked
// CHECK: g4k.rms_norm %{{.+}} weight(
// CHECK-NOT: g4k.fused_linear
// CHECK-NOT: gemma.fused_weight
module {
  gemma.weight @g : tensor<8xbf16> = "g" in "m.safetensors"
  gemma.weight @a : tensor<8x8xbf16> = "a" in "m.safetensors"
  gemma.weight @b : tensor<8x8xbf16> = "b" in "m.safetensors"
  func.func @blocked(%w: memref<?xi8>, %arena: memref<?xi8>, %tokens: memref<1xi32>, %start: index, %logits: memref<1x16xf32>) attributes {g4k.entry} {
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %c128 = arith.constant 128 : index
    %c192 = arith.constant 192 : index
    %x = memref.view %arena[%c0][] {g4k.name = "x"} : memref<?xi8> to memref<1x8xf32>
    %n = memref.view %arena[%c64][] {g4k.name = "n"} : memref<?xi8> to memref<1x8xf32>
    %y = memref.view %arena[%c128][] {g4k.name = "y"} : memref<?xi8> to memref<1x8xf32>
    %z = memref.view %arena[%c192][] {g4k.name = "z"} : memref<?xi8> to memref<1x8xf32>
    %g = g4k.weight @g : memref<8xbf16>
    %wa = g4k.weight @a : memref<8x8xbf16>
    %wb = g4k.weight @b : memref<8x8xbf16>
    g4k.rms_norm %x weight(%g : memref<8xbf16>) -> %n {epsilon = 1.0e-6 : f64} : memref<1x8xf32> -> memref<1x8xf32>
    g4k.add %n, %x -> %z : memref<1x8xf32>
    g4k.linear %x, %wa -> %y : memref<1x8xf32>, memref<8x8xbf16> -> memref<1x8xf32>
    g4k.add %y, %y -> %x : memref<1x8xf32>
    g4k.linear %x, %wb -> %z : memref<1x8xf32>, memref<8x8xbf16> -> memref<1x8xf32>
    g4k.linear %n, %wa -> %y : memref<1x8xf32>, memref<8x8xbf16> -> memref<1x8xf32>
    g4k.add %z, %z -> %x : memref<1x8xf32>
    g4k.linear %n, %wb -> %z : memref<1x8xf32>, memref<8x8xbf16> -> memref<1x8xf32>
    return
  }
}
