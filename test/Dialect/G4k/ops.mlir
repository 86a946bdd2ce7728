// RUN: g4c-opt %s | FileCheck %s
// RUN: g4c-opt %s | g4c-opt | FileCheck %s
// Round trip of every g4k op through its assembly format.

// CHECK-LABEL: func.func @every_kernel
// CHECK: g4k.weight @w : memref<8x8xbf16>
// CHECK: g4k.embed %{{.+}}, %{{.+}} -> %{{.+}} {scale = 2.000000e+00 : f64} : memref<2xi32>, memref<8x8xbf16> -> memref<2x8xf32>
// CHECK: g4k.linear %{{.+}}, %{{.+}} -> %{{.+}} : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x8xf32>
// CHECK: g4k.fused_linear %{{.+}}, %{{.+}} -> %{{.+}}, %{{.+}} : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x4xf32>, memref<2x4xf32>
// CHECK: g4k.rms_norm %{{.+}} weight(%{{.+}} : memref<4xbf16>) -> %{{.+}} {epsilon = 9.9999999999999995E-7 : f64} : memref<2x2x4xf32> -> memref<2x2x4xf32>
// CHECK: g4k.rms_norm %{{.+}} -> %{{.+}} {epsilon = 9.9999999999999995E-7 : f64} : memref<2x8xf32> -> memref<2x8xf32>
// CHECK: g4k.rope_frequencies -> %{{.+}} {head_dim = 4 : i64, theta = 1.000000e+04 : f64} : memref<2xf64>
// CHECK: g4k.rope %{{.+}}, %{{.+}} at %{{.+}} : memref<2x2x4xf32>, memref<2xf64>
// CHECK: g4k.attend %{{.+}}, %{{.+}}, %{{.+}} fresh(%{{.+}}, %{{.+}} : memref<2x1x4xf32>, memref<2x1x4xf32>) scores(%{{.+}} : memref<8xf32>) at %{{.+}} -> %{{.+}} {window = 4 : i64} : memref<2x2x4xf32>, memref<4x1x4xf32>, memref<4x1x4xf32> -> memref<2x2x4xf32>
// CHECK: g4k.attend %{{.+}}, %{{.+}}, %{{.+}} scores(%{{.+}} : memref<8xf32>) at
// CHECK: g4k.kv_store %{{.+}}, %{{.+}} at %{{.+}} -> %{{.+}}, %{{.+}} : memref<2x1x4xf32> -> memref<4x1x4xf32>
// CHECK: g4k.attend %{{.+}}, %{{.+}}, %{{.+}} scales(%{{.+}}, %{{.+}} : memref<4x1xf32>, memref<4x1xf32>) fresh(%{{.+}}, %{{.+}} : memref<2x1x4xf32>, memref<2x1x4xf32>) scores(%{{.+}} : memref<8xf32>) at %{{.+}} -> %{{.+}} {window = 4 : i64} : memref<2x2x4xf32>, memref<4x1x4xi8>, memref<4x1x4xi8> -> memref<2x2x4xf32>
// CHECK: g4k.kv_store %{{.+}}, %{{.+}} at %{{.+}} -> %{{.+}}, %{{.+}} scales(%{{.+}}, %{{.+}} : memref<4x1xf32>, memref<4x1xf32>) : memref<2x1x4xf32> -> memref<4x1x4xi8>
// CHECK: g4k.copy %{{.+}} -> %{{.+}} : memref<2x8xf32> -> memref<2x8xf32>
// CHECK: g4k.gelu_gate %{{.+}}, %{{.+}} -> %{{.+}} : memref<2x4xf32, strided<[8, 1], offset: 4>>, memref<2x4xf32> -> memref<2x4xf32>
// CHECK: g4k.add %{{.+}}, %{{.+}} -> %{{.+}} : memref<2x8xf32>
// CHECK: g4k.scale %{{.+}}, %{{.+}} -> %{{.+}} : memref<1xbf16>, memref<2x8xf32>
// CHECK: g4k.softcap %{{.+}} {cap = 3.000000e+01 : f64} : memref<2x8xf32>
// CHECK: g4k.ple_combine %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} -> %{{.+}} {context_scale = 5.000000e-01 : f64, epsilon = 9.9999999999999995E-7 : f64, table_scale = 2.000000e+00 : f64} : memref<2xi32>, memref<8x8xbf16>, memref<2x2x4xf32>, memref<4xbf16> -> memref<2x2x4xf32>
// CHECK: g4k.moe %{{.+}}, %{{.+}} router(%{{.+}}, %{{.+}}, %{{.+}} : memref<4x8xbf16>, memref<8xbf16>, memref<4xbf16>) experts(%{{.+}}, %{{.+}} : memref<4x8x8xbf16>, memref<4x8x4xbf16>) scratch(%{{.+}} : memref<64xf32>) -> %{{.+}} {epsilon = 9.9999999999999995E-7 : f64, top_k = 2 : i64} : memref<2x8xf32>
module {
  gemma.weight @w : tensor<8x8xbf16> = "w" in "m.safetensors"
  func.func @every_kernel(%tokens: memref<2xi32>, %s: index, %x: memref<2x8xf32>, %y: memref<2x8xf32>, %h: memref<2x2x4xf32>, %n: memref<4xbf16>, %f: memref<2xf64>, %c: memref<4x1x4xf32>, %k: memref<2x1x4xf32>, %scores: memref<8xf32>, %o: memref<2x2x4xf32>, %g: memref<2x4xf32, strided<[8, 1], offset: 4>>, %u: memref<2x4xf32>, %one: memref<1xbf16>, %router: memref<4x8xbf16>, %rs: memref<8xbf16>, %pe: memref<4xbf16>, %gu: memref<4x8x8xbf16>, %dn: memref<4x8x4xbf16>, %work: memref<64xf32>, %c8: memref<4x1x4xi8>, %cs: memref<4x1xf32>) {
    %w = g4k.weight @w : memref<8x8xbf16>
    g4k.embed %tokens, %w -> %x {scale = 2.0 : f64} : memref<2xi32>, memref<8x8xbf16> -> memref<2x8xf32>
    g4k.linear %x, %w -> %y : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x8xf32>
    g4k.fused_linear %x, %w -> %u, %u : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x4xf32>, memref<2x4xf32>
    g4k.rms_norm %h weight(%n : memref<4xbf16>) -> %h {epsilon = 1.0e-6 : f64} : memref<2x2x4xf32> -> memref<2x2x4xf32>
    g4k.rms_norm %x -> %y {epsilon = 1.0e-6 : f64} : memref<2x8xf32> -> memref<2x8xf32>
    g4k.rope_frequencies -> %f {theta = 1.0e4 : f64, head_dim = 4 : i64} : memref<2xf64>
    g4k.rope %h, %f at %s : memref<2x2x4xf32>, memref<2xf64>
    g4k.attend %h, %c, %c fresh(%k, %k : memref<2x1x4xf32>, memref<2x1x4xf32>) scores(%scores : memref<8xf32>) at %s -> %o {window = 4 : i64} : memref<2x2x4xf32>, memref<4x1x4xf32>, memref<4x1x4xf32> -> memref<2x2x4xf32>
    g4k.attend %h, %c, %c scores(%scores : memref<8xf32>) at %s -> %o {window = 0 : i64} : memref<2x2x4xf32>, memref<4x1x4xf32>, memref<4x1x4xf32> -> memref<2x2x4xf32>
    g4k.kv_store %k, %k at %s -> %c, %c : memref<2x1x4xf32> -> memref<4x1x4xf32>
    g4k.attend %h, %c8, %c8 scales(%cs, %cs : memref<4x1xf32>, memref<4x1xf32>) fresh(%k, %k : memref<2x1x4xf32>, memref<2x1x4xf32>) scores(%scores : memref<8xf32>) at %s -> %o {window = 4 : i64} : memref<2x2x4xf32>, memref<4x1x4xi8>, memref<4x1x4xi8> -> memref<2x2x4xf32>
    g4k.kv_store %k, %k at %s -> %c8, %c8 scales(%cs, %cs : memref<4x1xf32>, memref<4x1xf32>) : memref<2x1x4xf32> -> memref<4x1x4xi8>
    g4k.copy %x -> %y : memref<2x8xf32> -> memref<2x8xf32>
    g4k.gelu_gate %g, %u -> %u : memref<2x4xf32, strided<[8, 1], offset: 4>>, memref<2x4xf32> -> memref<2x4xf32>
    g4k.add %x, %y -> %y : memref<2x8xf32>
    g4k.scale %x, %one -> %y : memref<1xbf16>, memref<2x8xf32>
    g4k.softcap %y {cap = 30.0 : f64} : memref<2x8xf32>
    g4k.ple_combine %tokens, %w, %h, %n -> %h {table_scale = 2.0 : f64, context_scale = 0.5 : f64, epsilon = 1.0e-6 : f64} : memref<2xi32>, memref<8x8xbf16>, memref<2x2x4xf32>, memref<4xbf16> -> memref<2x2x4xf32>
    g4k.moe %x, %y router(%router, %rs, %pe : memref<4x8xbf16>, memref<8xbf16>, memref<4xbf16>) experts(%gu, %dn : memref<4x8x8xbf16>, memref<4x8x4xbf16>) scratch(%work : memref<64xf32>) -> %y {top_k = 2 : i64, epsilon = 1.0e-6 : f64} : memref<2x8xf32>
    return
  }
}
