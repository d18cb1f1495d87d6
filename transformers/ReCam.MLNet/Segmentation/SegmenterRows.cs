namespace ReCam.MLNet;

/// <summary>
/// The input row of a scoring-only segmenter (<c>model.LastTransformer</c> saved alone) for a prediction engine: an encoded
/// image, as a file or an upload holds it. ML.NET's prediction engines cannot take an in-memory <c>MLImage</c>, and the
/// segmenter decodes JPEG or PNG bytes itself. The property name is the segmenter's default image column, <c>Image</c>.
/// </summary>
public sealed class SegmenterInput
{
    /// <summary>The encoded image (JPEG or PNG).</summary>
    public byte[] Image { get; set; } = [];
}

/// <summary>
/// The columns a segmenter with the default output names (<see cref="SegmentationColumnNames"/>) adds to a row, as a prediction
/// engine's output class.
/// </summary>
public sealed class SegmenterPrediction
{
    /// <summary>H×W labels, row-major: 0 background, c + 1 class c.</summary>
    public byte[] PredictedMask { get; set; } = [];

    /// <summary>H, the image's height.</summary>
    public int PredictedMaskHeight { get; set; }

    /// <summary>W, the image's width.</summary>
    public int PredictedMaskWidth { get; set; }

    /// <summary>Share of the image per label, background first (C + 1 values).</summary>
    public float[] PredictedMaskAreas { get; set; } = [];
}
