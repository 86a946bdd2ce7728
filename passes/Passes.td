//===- Passes.td - g4c pass declarations -------------------*- tablegen -*-===//
//
// Part of g4c. Every g4c pass is declared here, alphabetically within its
// group, and implemented in <Name>.cpp through GEN_PASS_DEF.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_PASSES_PASSES_TD
#define G4C_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

def ExpandSoftcapPass : Pass<"g4c-expand-softcap"> {
  let summary = "Expand gemma.softcap into arith and math ops";
  let description = [{
    Rewrites `gemma.softcap %x {cap = c}` into the elementwise computation
    `c * tanh(x / c)` on tensors with the `arith` and `math` dialects, so that
    generic lowerings can handle it. The division (not a multiplication by
    1/c) keeps results bit-identical to the reference executor.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // G4C_PASSES_PASSES_TD
