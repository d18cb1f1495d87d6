// Usage: ReCam.MLNet.LoadCheck [--columns BASE[,BASE...]] MODEL.zip OUTPUT.bin IMAGE [IMAGE ...]
// Loads MODEL.zip with a fresh MLContext (a different seed, no registration call), transforms the images (absolute paths,
// no label column: classes come from the classifier) and writes the dump of every output column of the map transformers with
// the given base names (default "Cam"; for example "Cam,ReCam") to OUTPUT.bin.
using Microsoft.ML;
using ReCam.MLNet.LoadCheck;

string[] baseNames = ["Cam"];
if (args.Length >= 2 && args[0] == "--columns")
{
    baseNames = args[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    args = args[2..];
}
if (args.Length < 3 || baseNames.Length == 0)
{
    Console.Error.WriteLine("usage: ReCam.MLNet.LoadCheck [--columns BASE[,BASE...]] MODEL.zip OUTPUT.bin IMAGE [IMAGE ...]");
    return 2;
}
var ml = new MLContext(seed: 12345);
var model = ml.Model.Load(args[0], out var inputSchema);
var output = model.Transform(CamOutputDump.Rows(ml, args.Skip(2)));
File.WriteAllBytes(args[1], CamOutputDump.Dump(output, baseNames));
Console.WriteLine($"{model.GetType().Name}: wrote {args[1]}; input schema had {inputSchema.Count} column(s).");
(model as IDisposable)?.Dispose();
return 0;
