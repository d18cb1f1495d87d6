using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ReCam.Tests.Documentation;

/// <summary>Every C# block of the README compiles against the libraries as built, so the documented API cannot drift.</summary>
public partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "ReCam.MLNet.sln"))) return File.ReadAllText(path);
        }
        throw new FileNotFoundException("README.md of the repository not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<MetadataReference> References()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var ours = Directory.GetFiles(AppContext.BaseDirectory, "*.dll");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in platform.Concat(ours))
        {
            if (!names.Add(Path.GetFileName(path))) continue;
            MetadataReference? reference = null;
            try
            {
                using var stream = File.OpenRead(path);
                using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
                if (pe.HasMetadata) reference = MetadataReference.CreateFromFile(path);
            }
            catch (BadImageFormatException)
            {
            }
            if (reference is not null) yield return reference;
        }
    }

    [Fact]
    public void EveryCSharpBlockCompiles()
    {
        var blocks = CSharpBlock().Matches(Readme()).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(blocks);
        var references = References().ToList();
        var global = CSharpSyntaxTree.ParseText(
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq;");
        for (int i = 0; i < blocks.Count; i++)
        {
            var tree = CSharpSyntaxTree.ParseText(blocks[i], new CSharpParseOptions(LanguageVersion.Latest));
            var compilation = CSharpCompilation.Create($"readme{i}", [global, tree], references,
                new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, $"README C# block {i + 1} does not compile:\n{string.Join("\n", errors.Take(10))}\n---\n{blocks[i]}");
        }
    }
}
