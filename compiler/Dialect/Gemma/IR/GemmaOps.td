//===- GemmaOps.td - Gemma dialect operations --------------*- tablegen -*-===//
//
// Part of g4c. Operations of the `gemma` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD
#define G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD

include "compiler/Dialect/Gemma/IR/GemmaBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

def Gemma_RMSNormOp : Gemma_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the innermost dimension";
  let description = [{
    Normalises every row of `input` over its innermost dimension:
    `y = x * (mean(x^2) + epsilon)^-1/2`, then multiplies by the optional
    `weight` (a plain multiplier, not Gemma 3's `1 + w`). Without a weight
    this is Gemma 4's `RMSNormNoScale` (used for `v_norm` and the MoE router).

    ```mlir
    %y = gemma.rms_norm %x weight(%w : tensor<1536xf32>) : tensor<7x1536xf32>
    %v = gemma.rms_norm %x {epsilon = 1.0e-05 : f64} : tensor<7x256xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    Optional<RankedTensorOf<[AnyFloat]>>:$weight,
    DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon
  );
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `:` type($weight) `)`)? attr-dict
    `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// SoftcapOp
//===----------------------------------------------------------------------===//

def Gemma_SoftcapOp : Gemma_Op<"softcap", [Pure, SameOperandsAndResultType]> {
  let summary = "smooth clamp of logits: cap * tanh(x / cap)";
  let description = [{
    Applies Gemma's logit soft cap elementwise. Gemma 4 caps the final logits
    at 30 (`final_logit_softcapping`); attention logits are not capped.

    ```mlir
    %z = gemma.softcap %logits {cap = 30.0 : f64} : tensor<1x262144xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[AnyFloat]>:$input, F64Attr:$cap);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // G4C_DIALECT_GEMMA_IR_GEMMAOPS_TD
