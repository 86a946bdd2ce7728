// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-lower-kernels-to-calls=prefix=tiny | FileCheck %s
// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-object-pipeline | FileCheck %s --check-prefix=LLVM
// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-lower-kernels-to-calls="prefix=tiny halide=true" | FileCheck %s --check-prefix=HALIDE
// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-lower-kernels-to-calls="prefix=tiny halide=true halide-products=true" | FileCheck %s --check-prefix=PRODUCTS

// Two tokens through a weighted norm, a projection into the logits and the
// soft-cap: every address is an argument plus a constant (the arena view
// at 64, the second weight at its .g4w offset 4096, a row of the strided
// view 8 floats on), the RoPE table a constant global.
// CHECK-NOT: gemma.memory_plan
// CHECK: llvm.mlir.global private constant @table_0(dense<[1.000000e+00, 1.000000e-02]> : tensor<2xf64>)
// CHECK-LABEL: func.func @tiny_forward_decode
// CHECK-SAME: (%[[W:.+]]: !llvm.ptr, %[[ARENA:.+]]: !llvm.ptr, %[[TOKENS:.+]]: !llvm.ptr, %[[START:.+]]: i64, %[[LOGITS:.+]]: !llvm.ptr)
// CHECK: %[[C64:.+]] = llvm.mlir.constant(64 : i64)
// CHECK: %[[X:.+]] = llvm.getelementptr %[[ARENA]][%[[C64]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[C4096:.+]] = llvm.mlir.constant(4096 : i64)
// CHECK: %[[NORM:.+]] = llvm.getelementptr %[[W]][%[[C4096]]]
// The norm runs in place: one parameter for x and y.
// CHECK: call @tiny_rms_norm_0(%[[X]], %[[NORM]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: %[[TABLE:.+]] = llvm.mlir.addressof @table_0
// CHECK: call @tiny_rope_rows_0(%[[H:.+]], %[[TABLE]], %[[START]])
// The second row of [2, 2, 4]: 8 floats = 32 bytes on.
// CHECK: %[[C32:.+]] = llvm.mlir.constant(32 : i64)
// CHECK: %[[ROW:.+]] = llvm.getelementptr %[[H]][%[[C32]]]
// CHECK: call @tiny_copy_0(%[[ROW]])
// The logits kernels run only with a logits pointer.
// CHECK: %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[WANTED:.+]] = llvm.icmp "ne" %[[LOGITS]], %[[NULL]]
// CHECK: scf.if %[[WANTED]] {
// CHECK-NEXT: call @tiny_linear_0(%{{.+}}, %[[W]], %[[LOGITS]])
// CHECK: scf.if
// CHECK-NEXT: call @tiny_softcap_0(%[[LOGITS]])
// A second norm of the same shape and epsilon reuses the wrapper.
// CHECK: call @tiny_rms_norm_0(
// Out of place: another wrapper.
// CHECK: call @tiny_rms_norm_1(%{{.+}}, %[[NORM]], %[[ARENA]])
// CHECK: return
// The wrappers: C-ABI declarations carrying their C++ bodies.
// CHECK: func.func private @tiny_rms_norm_0(!llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  g4k::rms_norm<2, 8>(p0, p1, 1e-06f, p0);\0A", g4k.cpp_params = "float *p0, const g4k::bf16 *p1"}
// CHECK: func.func private @tiny_rope_rows_0(!llvm.ptr, !llvm.ptr, i64) attributes {g4k.cpp_body = "  g4k::rope_rows<2, 2, 4, 2>(p0, p1, start);\0A", g4k.cpp_params = "float *p0, const double *p1, int64_t start"}
// CHECK: func.func private @tiny_copy_0(!llvm.ptr) attributes {g4k.cpp_body = "  g4k::copy<8>(p0, p0);\0A", g4k.cpp_params = "float *p0"}
// CHECK: func.func private @tiny_linear_0(!llvm.ptr, !llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  g4k::linear<2, 8, 8>(p0, p1, logits);\0A", g4k.cpp_params = "float *p0, const g4k::q4<32> *p1, float *logits"}
// CHECK: func.func private @tiny_softcap_0(!llvm.ptr) attributes {g4k.cpp_body = "  g4k::softcap<16>(logits, 30.0f);\0A", g4k.cpp_params = "float *logits"}
// CHECK-NOT: gemma

// With halide=true the norm's wrappers call one generated kernel (same
// shape and formats, in place or not), named with the generator and the
// GeneratorParams that specialise it; the other kernels stay C++.
// HALIDE: func.func private @tiny_rms_norm_0(!llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  G4K_PROFILE_KERNEL(\22rms_norm (halide)\22);\0A  g4k::halide::view<2> x(p0, g4k::halide::f32(), {8, 2});\0A  g4k::halide::view<1> w(p1, g4k::halide::bf16_bits(), {8});\0A  g4k::halide::view<2> y(p0, g4k::halide::f32(), {8, 2});\0A  g4k::halide::check(tiny_rms_norm_halide_0(x.get(), w.get(), 1e-06f, y.get()), \22tiny_rms_norm_halide_0\22);\0A", g4k.cpp_params = "float *p0, const g4k::bf16 *p1", g4k.halide_functions = {{\[\[}}"tiny_rms_norm_halide_0", "g4c-rms-norm.generator", "g4c_rms_norm", "strict_float", "extern \22C\22 int tiny_rms_norm_halide_0(halide_buffer_t *input, halide_buffer_t *weight, float epsilon, halide_buffer_t *output);", "rows=2", "width=8", "bf16_weight=true"]]}
// HALIDE: func.func private @tiny_rope_rows_0(!llvm.ptr, !llvm.ptr, i64) attributes {g4k.cpp_body = "  g4k::rope_rows<2, 2, 4, 2>(p0, p1, start);\0A"
// HALIDE: func.func private @tiny_rms_norm_1(!llvm.ptr, !llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "{{.*}}tiny_rms_norm_halide_0(x.get(), w.get(), 1e-06f, y.get())
// HALIDE-NOT: rms_norm_halide_1
// The matrix products stay C++ unless asked for:
// HALIDE: func.func private @tiny_linear_1(!llvm.ptr, !llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  g4k::linear<2, 8, 8>(p0, p1, p2);\0A"
// With halide-products, a product of bf16 weights calls g4c_linear on each
// thread's rows (the q4 one stays C++): y's token rows 8 floats apart, the
// weight's rows from the part's first on.
// PRODUCTS: func.func private @tiny_linear_0(!llvm.ptr, !llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  g4k::linear<2, 8, 8>(p0, p1, logits);\0A"
// PRODUCTS: func.func private @tiny_linear_1(!llvm.ptr, !llvm.ptr, !llvm.ptr) attributes {g4k.cpp_body = "  G4K_PROFILE_KERNEL(\22linear (halide)\22);\0A  g4k::parallel_for(8, g4k::kRowGrain, [&](int64_t begin, int64_t end) {\0A    const int rows = int(end - begin);\0A    g4k::halide::view<2> x(p0, g4k::halide::f32(), {8, 2});\0A    g4k::halide::view<2> w(p1 + begin * 8, g4k::halide::bf16_bits(), {8, rows});\0A    g4k::halide::view<2> y(p2 + begin, g4k::halide::f32(), {rows, 2}, {1, 8});\0A    g4k::halide::check(tiny_linear_halide_1(x.get(), w.get(), y.get()), \22tiny_linear_halide_1\22);\0A  });\0A"
// PRODUCTS-SAME: g4k.halide_functions = {{\[\[}}"tiny_linear_halide_1", "g4c-linear.generator", "g4c_linear", "strict_float", "extern {{.*}}", "tokens=2", "columns=8", "output_stride=8", "bf16_weight=true"]]

// After the upstream conversions: LLVM dialect only.
// LLVM-LABEL: llvm.func @model_forward_decode
// LLVM: llvm.cond_br
// LLVM: llvm.call @model_linear_0
// LLVM: llvm.func @model_rms_norm_0(!llvm.ptr, !llvm.ptr)
// LLVM-NOT: scf.
// LLVM-NOT: func.func
module attributes {g4k.packed_weights = {w = {offset = 0 : i64, type = "g4k::q4<32>"}, n = {offset = 4096 : i64, type = "g4k::bf16"}, b = {offset = 8192 : i64, type = "g4k::bf16"}}, gemma.memory_plan = {}} {
  memref.global "private" constant @table_0 : memref<2xf64> = dense<[1.0, 0.01]>
  func.func @decode(%weights: memref<?xi8>, %arena: memref<?xi8>, %tokens: memref<2xi32>, %start: index, %logits: memref<2x8xf32>) attributes {g4k.entry} {
    %c64 = arith.constant 64 : index
    %x = memref.view %arena[%c64][] : memref<?xi8> to memref<2x8xf32>
    %n = g4k.weight @n : memref<8xbf16>
    g4k.rms_norm %x weight(%n : memref<8xbf16>) -> %x {epsilon = 1.0e-6 : f64} : memref<2x8xf32> -> memref<2x8xf32>
    %h = memref.view %arena[%c64][] : memref<?xi8> to memref<2x2x4xf32>
    %f = memref.get_global @table_0 : memref<2xf64>
    g4k.rope %h, %f at %start : memref<2x2x4xf32>, memref<2xf64>
    %row = memref.subview %h[1, 0, 0] [1, 2, 4] [1, 1, 1] : memref<2x2x4xf32> to memref<1x2x4xf32, strided<[8, 4, 1], offset: 8>>
    g4k.copy %row -> %row : memref<1x2x4xf32, strided<[8, 4, 1], offset: 8>> -> memref<1x2x4xf32, strided<[8, 4, 1], offset: 8>>
    %w = g4k.weight @w : memref<8x8xbf16>
    g4k.linear %x, %w -> %logits : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x8xf32>
    g4k.softcap %logits {cap = 30.0 : f64} : memref<2x8xf32>
    g4k.rms_norm %x weight(%n : memref<8xbf16>) -> %x {epsilon = 1.0e-6 : f64} : memref<2x8xf32> -> memref<2x8xf32>
    %c0 = arith.constant 0 : index
    %z = memref.view %arena[%c0][] : memref<?xi8> to memref<2x8xf32>
    g4k.rms_norm %x weight(%n : memref<8xbf16>) -> %z {epsilon = 1.0e-6 : f64} : memref<2x8xf32> -> memref<2x8xf32>
    %b = g4k.weight @b : memref<8x8xbf16>
    g4k.linear %z, %b -> %x : memref<2x8xf32>, memref<8x8xbf16> -> memref<2x8xf32>
    return
  }
}

// -----

// A weight the packer did not place.
module attributes {g4k.packed_weights = {}} {
  func.func @decode(%weights: memref<?xi8>, %arena: memref<?xi8>, %tokens: memref<2xi32>, %start: index, %logits: memref<2x8xf32>) attributes {g4k.entry} {
    // expected-error @below {{weight 'w' has no placement in the module's g4k.packed_weights}}
    %w = g4k.weight @w : memref<8x8xbf16>
    return
  }
}

// -----

// expected-error @below {{expected g4k.entry functions (run g4c-pipeline first)}}
module {
  func.func @f() {
    return
  }
}
