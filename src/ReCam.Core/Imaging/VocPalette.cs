namespace ReCam.Imaging;

/// <summary>
/// The standard PASCAL VOC colour map: 256 entries built by interleaving the bits of the index into
/// the red, green and blue channels (index 0 = black, 1 = (128,0,0), ..., 255 = (224,224,192)).
/// </summary>
public static class VocPalette
{
    /// <summary>The 256 palette entries, indexed by label value.</summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Colors { get; } = Build();

    private static (byte R, byte G, byte B)[] Build()
    {
        var colors = new (byte R, byte G, byte B)[256];
        for (int i = 0; i < 256; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; j++)
            {
                r |= (c & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            colors[i] = ((byte)r, (byte)g, (byte)b);
        }
        return colors;
    }
}
