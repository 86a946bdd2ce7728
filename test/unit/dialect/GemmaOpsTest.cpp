//===- GemmaOpsTest.cpp - C++ API tests of the gemma dialect --------------===//
//
// Part of g4c. Builds gemma ops through the C++ API (the importer's route)
// and checks that the verifiers accept and reject what they should.
//
//===----------------------------------------------------------------------===//

#include "compiler/Dialect/Gemma/IR/GemmaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;

namespace {

class GemmaOpsTest : public ::testing::Test {
protected:
  GemmaOpsTest() {
    context.loadDialect<g4c::gemma::GemmaDialect, func::FuncDialect>();
  }

  /// Verifies |module| and returns the first diagnostic ("" on success).
  std::string verifyAndCaptureError(ModuleOp module) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    if (succeeded(verify(module)))
      return "";
    return message;
  }

  MLIRContext context;
};

TEST_F(GemmaOpsTest, RMSNormWeightMustMatchInnermostDimension) {
  const char *source = R"mlir(
    func.func @f(%x: tensor<3x8xf32>, %w8: tensor<8xf32>, %w7: tensor<7xf32>) {
      return
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  auto function = cast<func::FuncOp>(module->getBody()->front());
  Block &body = function.getBody().front();
  OpBuilder builder = OpBuilder::atBlockBegin(&body);
  Location loc = builder.getUnknownLoc();
  Value input = body.getArgument(0);
  auto epsilon = builder.getF64FloatAttr(1e-6);

  auto good = g4c::gemma::RMSNormOp::create(
      builder, loc, input.getType(), input, body.getArgument(1), epsilon);
  EXPECT_EQ(verifyAndCaptureError(*module), "");
  good->erase();

  g4c::gemma::RMSNormOp::create(builder, loc, input.getType(), input,
                                body.getArgument(2), epsilon);
  EXPECT_EQ(verifyAndCaptureError(*module),
            "'gemma.rms_norm' op expected weight of size 8 (the innermost "
            "input dimension), got 7");
}

TEST_F(GemmaOpsTest, SoftcapRoundTripsThroughText) {
  const char *source = R"mlir(
    func.func @f(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
      %y = gemma.softcap %x {cap = 3.000000e+01 : f64} : tensor<2x5xf32>
      return %y : tensor<2x5xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  auto ops = module->getBody()
                 ->front()
                 .getRegion(0)
                 .front()
                 .getOps<g4c::gemma::SoftcapOp>();
  ASSERT_EQ(std::distance(ops.begin(), ops.end()), 1);
  EXPECT_EQ((*ops.begin()).getCap().convertToDouble(), 30.0);
}

} // namespace
