// RUN: g4c-opt %s -split-input-file -verify-diagnostics -g4c-plan-memory
// Errors of g4c-plan-memory (the kv-dtype error is in g4c-plan-memory.mlir).

// expected-error @+1 {{expected the module attribute gemma.context_length}}
module {
  func.func @negative_no_context() {
    return
  }
}
