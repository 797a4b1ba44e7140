// Prints every string constant of a Groovy file as one JSON string per line, read from the AST
// that Groovy 2.4 (the version Jenkins runs) builds: what the code means, not what it looks like.
import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases

def unit = new CompilationUnit()
unit.addSource('Jenkinsfile', new File(args[0]).getText('UTF-8'))
unit.compile(Phases.CONVERSION)
def strings = []
def visitor = new CodeVisitorSupport() {
    @Override
    void visitConstantExpression(ConstantExpression expression) {
        if (expression.value instanceof String) {
            strings << expression.value
        }
    }
}
unit.AST.modules.each { module -> module.statementBlock.visit(visitor) }
strings.each { value -> println groovy.json.JsonOutput.toJson(value) }
