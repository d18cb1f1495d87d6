var m = ReCam.Networks.Import.OnnxModelReader.Read(args[0]);
foreach (var n in m.Nodes)
{
    Console.WriteLine($"{n.OpType} in=[{string.Join(",", n.Inputs)}] out=[{string.Join(",", n.Outputs)}] " +
        string.Join(" ", n.IntAttributes.Select(kv => kv.Key + "=" + string.Join(",", kv.Value))) + " " +
        string.Join(" ", n.FloatAttributes.Select(kv => kv.Key + "=" + kv.Value)));
}
foreach (var t in m.Initializers.Values.Take(8)) Console.WriteLine($"{t.Name} [{string.Join(",", t.Shape)}]");
