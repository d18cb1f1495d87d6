// This file is compiled twice: into ReCam.Core (run-time patch, RECAM_LIBRARY defined) and as an
// MSBuild inline task (build-time patch, see build/TorchNative.targets). Keep it netstandard2.0-clean.
using System;
using System.IO;
using System.Text;

namespace ReCam.Platform
{
    /// <summary>
    /// Makes TorchSharp's native library loadable on hosts whose libstdc++ is older than the one it was
    /// linked against (Debian 12 ships GLIBCXX 3.4.30; libLibTorchSharp.so 0.107 asks for 3.4.32).
    /// </summary>
    /// <remarks>
    /// The only symbol libLibTorchSharp.so needs at GLIBCXX_3.4.31/3.4.32 is a link-time marker that is
    /// never bound, so the fix is to mark those version requirements weak (<c>VER_FLG_WEAK</c>) in the
    /// ELF <c>SHT_GNU_verneed</c> section. The loader then accepts the library. The patch is idempotent,
    /// replaces the file atomically (temporary file, then rename) and does nothing off Linux or where the
    /// host libstdc++ already provides the versions.
    /// </remarks>
#if RECAM_LIBRARY
    internal static class ElfVersionPatcher
#else
    public static class ElfVersionPatcher
#endif
    {
        /// <summary>File name of TorchSharp's native bridge library on Linux.</summary>
        public const string TorchSharpNativeFileName = "libLibTorchSharp.so";

        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 0x2;
        private static readonly string[] TooNewVersions = { "GLIBCXX_3.4.31", "GLIBCXX_3.4.32", "GLIBCXX_3.4.33" };

        /// <summary>
        /// Patches <paramref name="path"/> if it requires a libstdc++ symbol version the host lacks.
        /// </summary>
        /// <returns>True if the file was rewritten, false if nothing had to change.</returns>
        public static bool PatchIfNeeded(string path)
        {
            if (!File.Exists(path)) return false;
            byte[] image = File.ReadAllBytes(path);
            int changed = MarkVersionsWeak(image, NeedsWeakening);
            if (changed == 0) return false;
            string temp = path + ".patch-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
            File.WriteAllBytes(temp, image);
            // Rename over the original: atomic on the same file system.
            File.Replace(temp, path, null);
            return true;
        }

        /// <summary>True if <paramref name="path"/> exists and still requires a libstdc++ symbol version the host lacks (read only).</summary>
        public static bool NeedsPatch(string path) => File.Exists(path) && MarkVersionsWeak(File.ReadAllBytes(path), NeedsWeakening) > 0;

        private static bool NeedsWeakening(string version) => Array.IndexOf(TooNewVersions, version) >= 0 && !HostProvides(version);

        /// <summary>
        /// Sets <c>VER_FLG_WEAK</c> on every version requirement in an ELF64 little-endian image whose
        /// name matches <paramref name="shouldWeaken"/>. Returns the number of entries changed.
        /// </summary>
        public static int MarkVersionsWeak(byte[] elf, Func<string, bool> shouldWeaken)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("Not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");
            long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            int changed = 0;
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
                long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
                int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
                int count = (int)BitConverter.ToUInt32(elf, (int)sh + 0x2C);
                long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);
                long need = offset;
                for (int n = 0; n < count; n++)
                {
                    int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                    long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        string name = ReadCString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        if ((flags & VerFlagWeak) == 0 && shouldWeaken(name))
                        {
                            flags |= VerFlagWeak;
                            elf[aux + 4] = (byte)(flags & 0xff);
                            elf[aux + 5] = (byte)(flags >> 8);
                            changed++;
                        }
                        uint nextAux = BitConverter.ToUInt32(elf, (int)aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                    if (next == 0) break;
                    need += next;
                }
            }
            return changed;
        }

        /// <summary>True if the host's libstdc++ defines the given symbol version.</summary>
        public static bool HostProvides(string version)
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (string candidate in candidates)
            {
                if (!File.Exists(candidate)) continue;
                byte[] lib = File.ReadAllBytes(candidate);
                return IndexOf(lib, needle) >= 0;
            }
            return false;
        }

        private static string ReadCString(byte[] data, long start)
        {
            long end = start;
            while (end < data.Length && data[end] != 0) end++;
            return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
            {
                if (haystack[i] != needle[0]) continue;
                int j = 1;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }
    }

#if !RECAM_LIBRARY
    /// <summary>MSBuild task: patches every libLibTorchSharp.so found under a directory.</summary>
    public class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        /// <summary>Directory searched (recursively) for the native library.</summary>
        [Microsoft.Build.Framework.Required]
        public string Directory { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            if (Environment.OSVersion.Platform != PlatformID.Unix || !System.IO.Directory.Exists(Directory)) return true;
            foreach (string file in System.IO.Directory.GetFiles(Directory, ElfVersionPatcher.TorchSharpNativeFileName, SearchOption.AllDirectories))
            {
                if (ElfVersionPatcher.PatchIfNeeded(file))
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, "Patched libstdc++ version requirements of " + file);
            }
            return true;
        }
    }
#endif
}
