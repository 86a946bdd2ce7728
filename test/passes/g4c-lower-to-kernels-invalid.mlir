// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-lower-to-kernels
// Errors of g4c-lower-to-kernels on modules it cannot lower.

// expected-error @+1 {{expected gemma.memory_plan; run g4c-plan-memory before g4c-lower-to-kernels}}
module attributes {gemma.context_length = 8 : i64} {
  func.func @negative_unplanned() {
    return
  }
}

// -----

// expected-error @+1 {{the kernels keep f32 or i8 KV caches; got kv-dtype "f16"}}
module attributes {gemma.context_length = 8 : i64, gemma.memory_plan = {activation_bytes = 0 : i64, arena_bytes = 0 : i64, kv_bytes = 0 : i64, kv_bytes_per_layer = {}, kv_dtype = "f16", kv_offset_per_layer = {}, kv_slots_per_layer = {}}} {
}
