using System.IO.Compression;
using System.IO.Hashing;

namespace ReCam.IO;

/// <summary>
/// Reads zip entries (maps <c>.npz</c>, checkpoints) with their CRC-32 checked: .NET's <see cref="ZipArchive"/> does not check
/// it, so flipped bytes in a stored entry would otherwise read as different numbers without a word (numpy says "Bad CRC-32").
/// </summary>
internal static class CheckedZipEntry
{
    /// <summary>
    /// Opens <paramref name="entry"/> for reading; reading to its end throws <see cref="InvalidDataException"/> naming
    /// <paramref name="source"/> if the data do not match the entry's length and CRC-32.
    /// </summary>
    public static Stream Open(ZipArchiveEntry entry, string source) => new CheckedStream(entry.Open(), entry.Crc32, entry.Length, source);

    /// <summary>All bytes of <paramref name="entry"/>, checked against its CRC-32.</summary>
    public static byte[] ReadAll(ZipArchiveEntry entry, string source)
    {
        using var s = Open(entry, source);
        var buffer = new MemoryStream();
        s.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>Reads every entry of <paramref name="zip"/> to its end; throws <see cref="InvalidDataException"/> at the first damaged one.</summary>
    public static void VerifyAll(ZipArchive zip, string path)
    {
        foreach (var entry in zip.Entries)
        {
            using var s = Open(entry, $"{path}!{entry.FullName}");
            s.CopyTo(Stream.Null);
        }
    }

    private sealed class CheckedStream(Stream inner, uint expectedCrc, long expectedLength, string source) : Stream
    {
        private readonly Crc32 _crc = new();
        private long _read;
        private bool _checked;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => expectedLength;
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            if (n > 0)
            {
                _crc.Append(buffer[..n]);
                _read += n;
            }
            else if (buffer.Length > 0 && !_checked)
            {
                _checked = true;
                if (_read != expectedLength || _crc.GetCurrentHashAsUInt32() != expectedCrc)
                    throw new InvalidDataException($"{source}: the data do not match the archive's CRC-32 (the file is damaged; make it again).");
            }
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
