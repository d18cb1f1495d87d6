// Usage: ReCam.MLNet.LoadCheck MODEL.zip OUTPUT.bin IMAGE [IMAGE ...]
// Loads MODEL.zip with a fresh MLContext (a different seed, no registration call), transforms the images (absolute paths,
// no label column: classes come from the classifier) and writes the dump of every column the model adds to OUTPUT.bin.
using Microsoft.ML;
using ReCam.MLNet.LoadCheck;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ReCam.MLNet.LoadCheck MODEL.zip OUTPUT.bin IMAGE [IMAGE ...]");
    return 2;
}
var ml = new MLContext(seed: 12345);
var model = ml.Model.Load(args[0], out var inputSchema);
var rows = OutputDump.Rows(ml, args.Skip(2));
File.WriteAllBytes(args[1], OutputDump.Dump(model.Transform(rows), rows.Schema));
Console.WriteLine($"{model.GetType().Name}: wrote {args[1]}; input schema had {inputSchema.Count} column(s).");
(model as IDisposable)?.Dispose();
return 0;
