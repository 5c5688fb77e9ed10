package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// boundedReaders wrap a reader so that reading it whole stops at a size.
var boundedReaders = map[string]bool{"io.LimitReader": true, "http.MaxBytesReader": true}

// shipped are the trees the gemgate binary is built from (the benchmark tool only talks to gemgate).
var shipped = []string{filepath.Join("..", "..", "internal"), filepath.Join("..", "..", "cmd", "gemgate")}

// TestEveryReadAllIsBounded fails for an io.ReadAll (or a JSON decoder) over a reader that is not
// wrapped in io.LimitReader or http.MaxBytesReader right there, in any non-test file of the binary.
func TestEveryReadAllIsBounded(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, root := range shipped {
		checked += checkTree(t, fset, root)
	}
	if checked == 0 {
		t.Fatal("found no reads at all: the walk is broken")
	}
}

func checkTree(t *testing.T, fset *token.FileSet, root string) int {
	t.Helper()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			switch name := selector(call.Fun); name {
			case "io.ReadAll", "ioutil.ReadAll", "json.NewDecoder":
				checked++
				if arg, ok := call.Args[0].(*ast.CallExpr); ok && boundedReaders[selector(arg.Fun)] {
					return true
				}
				if name == "json.NewDecoder" && isInMemory(call.Args[0]) {
					return true
				}
				t.Errorf("%s: %s reads without a bound; wrap the reader in io.LimitReader or http.MaxBytesReader",
					fset.Position(call.Pos()), name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return checked
}

// isInMemory accepts a decoder over bytes already in memory (bytes.NewReader, strings.NewReader).
func isInMemory(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch selector(call.Fun) {
	case "bytes.NewReader", "strings.NewReader", "bytes.NewBuffer":
		return true
	}
	return false
}

func selector(e ast.Expr) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	return x.Name + "." + sel.Sel.Name
}
