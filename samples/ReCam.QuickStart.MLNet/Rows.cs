namespace ReCam.QuickStart.MLNet;

/// <summary>A training row: an absolute image path and its multi-hot label (vector size set by a schema definition).</summary>
public sealed class SceneRow
{
    /// <summary>Absolute image path.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>1 for each class present in the image.</summary>
    public float[] Label { get; set; } = [];
}

/// <summary>The ReCAM columns of one predicted row.</summary>
public sealed class ReCamPrediction
{
    /// <summary>Present classes as keys (0-based class index + 1).</summary>
    public uint[] ReCamClasses { get; set; } = [];

    /// <summary>Probability of every class (re-activated classifier W1).</summary>
    public float[] ReCamScores { get; set; } = [];

    /// <summary>Full-resolution maps, K×H×W.</summary>
    public float[] ReCam { get; set; } = [];

    /// <summary>Stride-4 maps, K×⌈H/4⌉×⌈W/4⌉.</summary>
    public float[] ReCamStride4 { get; set; } = [];

    /// <summary>Image height H.</summary>
    public int ReCamHeight { get; set; }

    /// <summary>Image width W.</summary>
    public int ReCamWidth { get; set; }

    /// <summary>The pseudo mask, H×W values (0 background, c + 1 class c).</summary>
    public byte[] PseudoMask { get; set; } = [];
}
