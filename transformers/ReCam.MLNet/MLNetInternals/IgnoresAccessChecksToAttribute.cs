// Every use of ML.NET's internal API lives in this folder (MLNetInternals/): ML.NET offers third-party transformers no public way to save state. The compiler sees publicized
// reference copies of Microsoft.ML.Core/Data (build/PublicizeMLNet.targets); at run time CoreCLR honours the
// attribute below and lets this assembly reach the real assemblies' non-public members.
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]

namespace System.Runtime.CompilerServices;

/// <summary>
/// Tells the runtime to skip access checks from this assembly into the named assembly. CoreCLR recognises the
/// attribute by name; it is not part of the public BCL, so it is declared here.
/// </summary>
/// <param name="assemblyName">Simple name of the assembly whose non-public members this assembly uses.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    /// <summary>Simple name of the assembly.</summary>
    public string AssemblyName { get; } = assemblyName;
}
