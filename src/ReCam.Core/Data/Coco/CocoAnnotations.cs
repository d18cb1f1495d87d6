using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReCam.Data.Coco;

/// <summary>One entry of a COCO instances file's <c>images</c>.</summary>
internal sealed record CocoImage(long Id, string FileName, int Width, int Height);

/// <summary>One entry of its <c>annotations</c>; <see cref="Segmentation"/> is read only when the regions are wanted.</summary>
internal sealed record CocoAnnotation(long Id, long ImageId, long CategoryId, bool IsCrowd, CocoSegmentation? Segmentation);

/// <summary>
/// A COCO instances file (<c>annotations/instances_&lt;split&gt;.json</c>): its images, annotations and categories. Read
/// as a stream (the 2014 training file is 330 MB), keeping only the fields the pipeline uses.
/// </summary>
internal sealed class CocoAnnotations
{
    private CocoAnnotations(string path, IReadOnlyList<CocoImage> images, IReadOnlyList<CocoAnnotation> annotations,
        IReadOnlyList<(long Id, string Name)> categories)
    {
        Path = path;
        Images = images;
        Annotations = annotations;
        Categories = categories;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The images, sorted by id (the order of torchvision's <c>CocoDetection</c>, which the official code uses).</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The annotations in file order.</summary>
    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>The categories sorted by id: class index c is the c-th (COCO's ids 1..90 with gaps become 0..79).</summary>
    public IReadOnlyList<(long Id, string Name)> Categories { get; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The instances file.</param>
    /// <param name="withSegmentation">Whether to keep each annotation's region (for masks); labels need none.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a COCO instances file: bad JSON, a missing field, an annotation
    /// whose image or category is not listed, a repeated id, no category.</exception>
    public static CocoAnnotations Read(string path, bool withSegmentation)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"COCO annotation file not found: '{path}'.", path);
        RawFile raw;
        var options = new JsonSerializerOptions { Converters = { new SegmentationConverter(withSegmentation) } };
        try
        {
            using var stream = File.OpenRead(path);
            raw = JsonSerializer.Deserialize<RawFile>(stream, options) ?? throw new InvalidDataException($"'{path}' holds null, not a COCO instances file.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid COCO instances file: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
        if (raw.Images is null || raw.Categories is null)
            throw new InvalidDataException($"'{path}' has no \"images\" or no \"categories\" array; is it an instances (not a captions or keypoints) file?");
        if (raw.Categories.Count == 0) throw new InvalidDataException($"'{path}' lists no category.");

        var categories = raw.Categories.OrderBy(c => c.Id).Select(c => (c.Id, Name: (c.Name ?? "").Trim())).ToList();
        var duplicateCategory = categories.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicateCategory is not null) throw new InvalidDataException($"'{path}' lists category id {duplicateCategory.Key} twice.");
        var images = new List<CocoImage>(raw.Images.Count);
        var imageIds = new HashSet<long>();
        foreach (var image in raw.Images)
        {
            if (string.IsNullOrWhiteSpace(image.FileName))
                throw new InvalidDataException($"'{path}': image {image.Id} has no file_name.");
            if (image.Width <= 0 || image.Height <= 0)
                throw new InvalidDataException($"'{path}': image {image.Id} ('{image.FileName}') has size {image.Width}x{image.Height}.");
            if (!imageIds.Add(image.Id)) throw new InvalidDataException($"'{path}' lists image id {image.Id} twice.");
            images.Add(new CocoImage(image.Id, image.FileName, image.Width, image.Height));
        }
        images.Sort((a, b) => a.Id.CompareTo(b.Id));

        var categoryIds = categories.Select(c => c.Id).ToHashSet();
        var annotations = new List<CocoAnnotation>(raw.Annotations?.Count ?? 0);
        foreach (var a in raw.Annotations ?? [])
        {
            if (!imageIds.Contains(a.ImageId))
                throw new InvalidDataException($"'{path}': annotation {a.Id} refers to image {a.ImageId}, which the file does not list.");
            if (!categoryIds.Contains(a.CategoryId))
                throw new InvalidDataException($"'{path}': annotation {a.Id} has category {a.CategoryId}, which the file does not list.");
            annotations.Add(new CocoAnnotation(a.Id, a.ImageId, a.CategoryId, a.IsCrowd != 0, a.Segmentation));
        }
        return new CocoAnnotations(path, images, annotations, categories);
    }

    private sealed class RawFile
    {
        [JsonPropertyName("images")] public List<RawImage>? Images { get; set; }
        [JsonPropertyName("annotations")] public List<RawAnnotation>? Annotations { get; set; }
        [JsonPropertyName("categories")] public List<RawCategory>? Categories { get; set; }
    }

    private sealed class RawImage
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("file_name")] public string? FileName { get; set; }
        [JsonPropertyName("width")] public int Width { get; set; }
        [JsonPropertyName("height")] public int Height { get; set; }
    }

    private sealed class RawAnnotation
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("image_id")] public long ImageId { get; set; }
        [JsonPropertyName("category_id")] public long CategoryId { get; set; }
        [JsonPropertyName("iscrowd")] public int IsCrowd { get; set; }
        [JsonPropertyName("segmentation")] public CocoSegmentation? Segmentation { get; set; }
    }

    private sealed class RawCategory
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
    }

    /// <summary>Reads a <c>segmentation</c> value (polygons, or an RLE object with list or string counts), or skips it.</summary>
    private sealed class SegmentationConverter(bool keep) : JsonConverter<CocoSegmentation?>
    {
        public override CocoSegmentation? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (!keep || reader.TokenType == JsonTokenType.Null)
            {
                // A stream is read in blocks, where Skip() refuses to run; the serializer has buffered this whole value, so TrySkip() succeeds.
                if (!reader.TrySkip()) throw new JsonException("\"segmentation\" could not be skipped.");
                return null;
            }
            if (reader.TokenType == JsonTokenType.StartArray) return CocoSegmentation.FromPolygons(ReadPolygons(ref reader));
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("\"segmentation\" must be a list of polygons or an RLE object.");
            int[]? size = null;
            long[]? counts = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string? name = reader.GetString();
                reader.Read();
                if (name == "size") size = JsonSerializer.Deserialize<int[]>(ref reader, options);
                else if (name == "counts")
                    counts = reader.TokenType == JsonTokenType.String
                        ? CocoSegmentation.DecodeCounts(reader.GetString()!)
                        : JsonSerializer.Deserialize<long[]>(ref reader, options);
                else reader.Skip();
            }
            if (size is not { Length: 2 } || counts is null) throw new JsonException("an RLE \"segmentation\" needs \"size\": [height, width] and \"counts\".");
            return CocoSegmentation.FromRle(size[0], size[1], counts);
        }

        /// <summary>A list of polygons, or (leniently) one flat polygon.</summary>
        private static List<double[]> ReadPolygons(ref Utf8JsonReader reader)
        {
            var polygons = new List<double[]>();
            var flat = new List<double>();
            var current = new List<double>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.Number) { flat.Add(reader.GetDouble()); continue; }
                if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("a polygon must be a list of numbers.");
                current.Clear();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) current.Add(reader.GetDouble());
                polygons.Add(current.ToArray());
            }
            if (flat.Count > 0) polygons.Add(flat.ToArray());
            return polygons;
        }

        public override void Write(Utf8JsonWriter writer, CocoSegmentation? value, JsonSerializerOptions options) =>
            throw new NotSupportedException("COCO annotations are only read.");
    }
}
