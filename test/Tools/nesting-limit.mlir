// Sources nested deeper than kMaxSourceNesting (256) brackets are an error
// before the recursive-descent parser sees them (at a few thousand levels it
// overflowed the stack). 256 levels still parse; comments, strings and the
// `>` of `->` do not count.

// RUN: python3 -c "n = 10000; print('func.func @f() attributes {a = ' + '[' * n + '1' + ']' * n + '} { return }')" > %t.attr.mlir
// RUN: not attn-opt %t.attr.mlir 2>&1 | FileCheck %s --check-prefix=ATTR
// RUN: python3 -c "n = 100000; print('func.func @f(%%a: ' + 'tensor<' * n + 'f32' + '>' * n + ') { return }')" > %t.type.mlir
// RUN: not attn-opt %t.type.mlir 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: cat %t.type.mlir | not attn-opt 2>&1 | FileCheck %s --check-prefix=STDIN
// RUN: not attn-compile %t.attr.mlir -o %t.attn 2>&1 | FileCheck %s --check-prefix=COMPILE
// RUN: python3 -c "n = 250; print('func.func @f() attributes {a = ' + '[' * n + '1' + ']' * n + '} { return }')" | attn-opt | FileCheck %s --check-prefix=OK
// RUN: attn-opt %s | FileCheck %s --check-prefix=SELF

// ATTR: attr.mlir:1:287: error: brackets nest deeper than 256 levels
// TYPE: type.mlir:1:1809: error: brackets nest deeper than 256 levels
// STDIN: -:1:1809: error: brackets nest deeper than 256
// COMPILE: "attention.mlir":1:287): brackets nest deeper than 256 levels
// OK: func.func @f() attributes {a = {{\[+}}1{{\]+}}}
// SELF: func.func @arrows

// "(((((((((((" in a string and ((((( in a comment are not nesting.
func.func @arrows() -> () attributes {s = "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("} {
  return
}
