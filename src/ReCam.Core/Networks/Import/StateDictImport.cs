using static TorchSharp.torch;

namespace ReCam.Networks.Import;

/// <summary>
/// Copies tensors from a foreign state dict into a module, driven by the module's own names: for each
/// parameter and buffer the first matching candidate key is used. That handles PyTorch checkpoints that
/// store one tensor under several aliases (official ReCAM/IRN files) and prefixes such as
/// <c>module.</c> (DataParallel) or <c>resnet50.</c>.
/// </summary>
internal static class StateDictImport
{

    /// <summary>Loads <paramref name="source"/> into <paramref name="target"/>.</summary>
    /// <param name="target">Module to fill.</param>
    /// <param name="source">Foreign state dict (key to tensor).</param>
    /// <param name="candidates">Candidate source keys for a target key, most specific first.</param>
    /// <param name="sourceName">File name used in error messages.</param>
    /// <param name="optional">Target keys that may be absent (left as initialised), e.g. a new classifier.</param>
    /// <returns>The target keys that were loaded.</returns>
    /// <exception cref="InvalidDataException">A required tensor is missing or has the wrong shape.</exception>
    public static IReadOnlyList<string> Load(
        nn.Module target,
        IReadOnlyDictionary<string, Tensor> source,
        Func<string, IEnumerable<string>> candidates,
        string sourceName,
        Func<string, bool>? optional = null)
    {
        var loaded = new List<string>();
        var missing = new List<string>();
        var targets = target.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(target.named_buffers().Select(b => (b.name, b.buffer)));
        using var noGrad = no_grad();
        foreach (var (name, tensor) in targets)
        {
            string? key = candidates(name).FirstOrDefault(source.ContainsKey);
            if (key is null)
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal) || (optional?.Invoke(name) ?? false)) continue;
                missing.Add(name);
                continue;
            }
            var value = source[key];
            if (!value.shape.SequenceEqual(tensor.shape))
                throw new InvalidDataException(
                    $"'{sourceName}': tensor '{key}' has shape [{string.Join(", ", value.shape)}] but '{name}' needs [{string.Join(", ", tensor.shape)}]. Is it the right backbone?");
            tensor.copy_(value.to(tensor.dtype));
            loaded.Add(name);
        }
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"'{sourceName}' lacks {missing.Count} tensor(s) the network needs, e.g. {string.Join(", ", missing.Take(5))}. Source keys look like: {string.Join(", ", source.Keys.Take(5))}.");
        return loaded;
    }

    /// <summary>Reads a PyTorch state dict saved with <c>torch.save(model.state_dict(), path)</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be unpickled as a state dict.</exception>
    public static Dictionary<string, Tensor> ReadPth(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        System.Collections.Hashtable table;
        try
        {
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"Cannot read '{path}' as a PyTorch state dict (torch.save of a state_dict): {e.Message}", e);
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor t) result[key] = t;
        }
        if (result.Count == 0) throw new InvalidDataException($"'{path}' holds no tensors (was the whole model pickled instead of its state_dict?).");
        return result;
    }

    /// <summary>
    /// Candidate keys for a target key of a network whose backbone lives under <c>backbone.</c>:
    /// the key itself, official ReCAM/IRN aliases (<c>resnet50.</c>) and a bare torchvision key.
    /// Every candidate is also tried with the DataParallel prefix <c>module.</c>.
    /// </summary>
    public static IEnumerable<string> BackboneCandidates(string key)
    {
        var plain = new List<string> { key };
        const string prefix = "backbone.";
        if (key.StartsWith(prefix, StringComparison.Ordinal))
        {
            string rest = key[prefix.Length..];
            plain.Add("resnet50." + rest);
            plain.Add("resnet101." + rest);
            plain.Add(rest);
        }
        if (key == "classifier.weight") plain.Add("newly_added.0.weight");
        foreach (var k in plain) yield return k;
        foreach (var k in plain) yield return "module." + k;
    }
}
