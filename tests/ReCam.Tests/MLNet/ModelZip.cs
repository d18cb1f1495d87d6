using System.IO.Compression;
using System.Text;

namespace ReCam.Tests.MLNet;

/// <summary>Edits saved ML.NET models to simulate models written by other versions.</summary>
internal static class ModelZip
{
    // ML.NET's model header: component signature (8 ASCII bytes) at 0x40, then its written and readable versions.
    private const int SignatureOffset = 0x40, WrittenOffset = 0x48, ReadableOffset = 0x4C;

    /// <summary>Sets the written and readable format versions of the component with <paramref name="signature"/>.</summary>
    public static bool BumpComponentVersion(string zipPath, string signature, uint version)
    {
        var sig = Encoding.ASCII.GetBytes(signature.PadRight(8, '\0'));
        using var zip = ZipFile.Open(zipPath, ZipArchiveMode.Update);
        foreach (var entry in zip.Entries.ToList())
        {
            byte[] bytes;
            using (var s = entry.Open())
            {
                var m = new MemoryStream();
                s.CopyTo(m);
                bytes = m.ToArray();
            }
            if (bytes.Length < 0x50 || !bytes.AsSpan(SignatureOffset, 8).SequenceEqual(sig)) continue;
            BitConverter.TryWriteBytes(bytes.AsSpan(WrittenOffset, 4), version);
            BitConverter.TryWriteBytes(bytes.AsSpan(ReadableOffset, 4), version);
            string name = entry.FullName;
            entry.Delete();
            using (var s = zip.CreateEntry(name).Open()) s.Write(bytes);
            return true;
        }
        return false;
    }

    /// <summary>Cuts the first entry whose name ends with <paramref name="nameSuffix"/> to half its length.</summary>
    public static bool TruncateEntry(string zipPath, string nameSuffix) => RewriteEntry(zipPath, nameSuffix, b => b[..(b.Length / 2)]);

    /// <summary>
    /// Inverts <paramref name="count"/> bytes in the middle of the first entry whose name ends with <paramref name="nameSuffix"/>
    /// and re-zips it, so the zip's own CRC is valid again: damage only a digest of the content can see.
    /// </summary>
    public static bool FlipEntryBytes(string zipPath, string nameSuffix, int count) => RewriteEntry(zipPath, nameSuffix, b =>
    {
        for (int i = 0; i < count; i++) b[b.Length / 2 + i] ^= 0xFF;
        return b;
    });

    private static bool RewriteEntry(string zipPath, string nameSuffix, Func<byte[], byte[]> edit)
    {
        using var zip = ZipFile.Open(zipPath, ZipArchiveMode.Update);
        var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith(nameSuffix, StringComparison.Ordinal));
        if (entry is null) return false;
        var m = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(m);
        string name = entry.FullName;
        entry.Delete();
        using (var s = zip.CreateEntry(name).Open()) s.Write(edit(m.ToArray()));
        return true;
    }
}
