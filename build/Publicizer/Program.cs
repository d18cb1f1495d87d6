using Mono.Cecil;

namespace ReCam.Build;

/// <summary>
/// Usage: <c>ReCam.Build.Publicizer OUTPUT_DIR ASSEMBLY.dll [ASSEMBLY.dll ...]</c>.
/// Writes a copy of each assembly into OUTPUT_DIR in which every type is public, private/internal members are
/// public, and <c>private protected</c>/<c>protected internal</c> members are <c>protected</c> (so overrides compile
/// as <c>protected override</c>). Compiler-generated names (containing '&lt;'), explicit interface implementations
/// and event backing fields are left alone. The copies are reference assemblies for the compiler only.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: ReCam.Build.Publicizer OUTPUT_DIR ASSEMBLY.dll [ASSEMBLY.dll ...]");
            return 2;
        }
        string outputDir = args[0];
        Directory.CreateDirectory(outputDir);
        var resolver = new DefaultAssemblyResolver();
        foreach (string dir in args.Skip(1).Select(a => Path.GetDirectoryName(Path.GetFullPath(a))!).Distinct())
            resolver.AddSearchDirectory(dir);
        foreach (string input in args.Skip(1))
        {
            string output = Path.Combine(outputDir, Path.GetFileName(input));
            using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
            {
                int changed = 0;
                foreach (var type in assembly.MainModule.GetTypes()) changed += Publicize(type);
                string temp = output + ".tmp";
                assembly.Write(temp);
                File.Move(temp, output, overwrite: true);
                Console.WriteLine($"Publicizer: {Path.GetFileName(input)}: {changed} types/members opened -> {output}");
            }
        }
        return 0;
    }

    private static int Publicize(TypeDefinition type)
    {
        int changed = 0;
        if (!type.Name.Contains('<'))
        {
            if (type.IsNested && !type.IsNestedPublic) { type.IsNestedPublic = true; changed++; }
            else if (!type.IsNested && !type.IsPublic) { type.IsPublic = true; changed++; }
        }
        var eventNames = new HashSet<string>(type.Events.Select(e => e.Name), StringComparer.Ordinal);
        foreach (var field in type.Fields)
        {
            if (field.Name.Contains('<') || eventNames.Contains(field.Name)) continue;
            if (field.IsFamilyAndAssembly || field.IsFamilyOrAssembly) { if (!field.IsFamily) { field.IsFamily = true; changed++; } }
            else if (!field.IsPublic && !field.IsFamily) { field.IsPublic = true; changed++; }
        }
        foreach (var method in type.Methods)
        {
            if (method.Name.Contains('<') || method.HasOverrides) continue; // explicit interface implementations
            if (method.IsFamilyAndAssembly || method.IsFamilyOrAssembly) { method.IsFamily = true; changed++; }
            else if (!method.IsPublic && !method.IsFamily) { method.IsPublic = true; changed++; }
        }
        return changed;
    }
}
