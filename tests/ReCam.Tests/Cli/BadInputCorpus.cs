using System.Buffers.Binary;
using System.Text;
using ReCam.Cam;

namespace ReCam.Tests.Cli;

/// <summary>One bad input: how to make it in a case folder, the command that meets it, and what must come out.</summary>
/// <param name="Name">Case name (also its folder name).</param>
/// <param name="Args">Command line; <c>{voc}</c>, <c>{work}</c>, <c>{root}</c> and <c>{ckpt}</c> are replaced by the case's paths.</param>
/// <param name="Culprit">Text the error must contain: the file, id, option or value at fault.</param>
/// <param name="Setup">Makes the bad input inside the case folder.</param>
/// <param name="ExitCode">Expected exit code (2: bad input or settings).</param>
public sealed record BadInput(string Name, string[] Args, string Culprit, Action<CaseFolder>? Setup = null, int ExitCode = 2)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// A case's folder: <c>voc/</c> (a copy of the tiny data set), <c>work/</c> (the trained checkpoint and a finished maps file that
/// must survive), <c>elsewhere/</c> (a target outside both that nothing may read from or write to).
/// </summary>
public sealed class CaseFolder(string root)
{
    public string Root { get; } = root;
    public string Voc => Path.Combine(Root, "voc");
    public string Work => Path.Combine(Root, "work");
    public string Elsewhere => Path.Combine(Root, "elsewhere");
    public string Checkpoint => Path.Combine(Work, "models", "cam.ckpt");
    public string Image(string id) => Path.Combine(Voc, "JPEGImages", id + ".jpg");
    public string Split(string name) => Path.Combine(Voc, "ImageSets", "Segmentation", name + ".txt");

    /// <summary>Writes a split list named <paramref name="name"/> holding <paramref name="ids"/>.</summary>
    public void WriteSplit(string name, params string[] ids) => File.WriteAllText(Split(name), string.Join("\n", ids) + "\n");

    /// <summary>Overwrites <paramref name="path"/>'s bytes from <paramref name="offset"/> (negative: from the end) with their complement.</summary>
    public static void Flip(string path, int count, int offset = int.MinValue)
    {
        var bytes = File.ReadAllBytes(path);
        int start = offset == int.MinValue ? bytes.Length / 2 : offset < 0 ? bytes.Length + offset : offset;
        for (int i = 0; i < count; i++) bytes[start + i] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Cuts <paramref name="path"/> to half its length.</summary>
    public static void Cut(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
    }
}

/// <summary>
/// The bad-input corpus of the command line, generated: every case that once gave a stack trace, a wrong result or a write
/// outside the work folder, and the ones that always gave a clear error, so that they stay so.
/// </summary>
public static class BadInputCorpus
{
    /// <summary>An id of the tiny data set whose image is used for the image cases.</summary>
    public const string Good = "scene_000000";

    private static string[] MakeCam(string split, params string[] more) =>
        ["make-cam", "--voc", "{voc}", "--work", "{work}", "--split", split, "--scales", "1.0", .. more];

    private static string[] EvalCam(params string[] more) => ["eval-cam", "--voc", "{voc}", "--work", "{work}", "--split", "one", .. more];

    private static string[] Refine(string step, params string[] more) => [step, "--voc", "{voc}", "--work", "{work}", "--split", "one", .. more];

    private static string[] TrainCam(params string[] more) =>
        ["train-cam", "--voc", "{voc}", "--work", "{work}/fresh", "--epochs", "1", "--batch", "4", "--crop", "64", .. more];

    // A split "bad" holding one id whose image is replaced by `bytes`.
    private static BadInput Image(string name, Func<byte[]> bytes) => new(name, MakeCam("bad"), "bad_image", c =>
    {
        File.WriteAllBytes(c.Image("bad_image"), bytes());
        File.Copy(Path.Combine(c.Voc, "Annotations", Good + ".xml"), Path.Combine(c.Voc, "Annotations", "bad_image.xml"));
        c.WriteSplit("bad", "bad_image");
    });

    private static BadInput SplitId(string name, string id, string culprit) => new(name, MakeCam("bad"), culprit, c => c.WriteSplit("bad", id));

    private static BadInput Csv(string name, string text, string culprit) => new(name, MakeCam("one", "--labels", "{root}/labels.csv"), culprit,
        c => File.WriteAllText(Path.Combine(c.Root, "labels.csv"), text));

    private static readonly string[] CocoMakeCam = ["make-cam", "--coco", "{root}/coco", "--split", "x", "--work", "{work}", "--checkpoint", "{ckpt}", "--scales", "1.0"];

    private static readonly string[] CocoMasks = ["make-coco-masks", "--coco", "{root}/coco", "--split", "x", "--work", "{work}"];

    /// <summary>A COCO folder <c>{root}/coco</c> with split <c>x</c>: the good image as <c>good.jpg</c> (64 x 64), one category, and
    /// <paramref name="annotations"/> (JSON) as its annotations; <paramref name="edit"/> changes the file's text.</summary>
    private static BadInput Coco(string name, string[] args, string culprit, string annotations, Func<string, string>? edit = null) => new(name, args, culprit, c =>
    {
        string coco = Path.Combine(c.Root, "coco");
        Directory.CreateDirectory(Path.Combine(coco, "annotations"));
        Directory.CreateDirectory(Path.Combine(coco, "x"));
        File.Copy(c.Image(Good), Path.Combine(coco, "x", "good.jpg"));
        string json = "{\"images\": [{\"id\": 1, \"file_name\": \"good.jpg\", \"width\": 64, \"height\": 64}], " +
                      $"\"annotations\": [{annotations}], \"categories\": [{{\"id\": 1, \"name\": \"t-shirt\"}}]}}";
        File.WriteAllText(Path.Combine(coco, "annotations", "instances_x.json"), edit is null ? json : edit(json));
    });

    private static BadInput Also(BadInput bad, Action<CaseFolder> more) => bad with { Setup = c => { bad.Setup?.Invoke(c); more(c); } };

    private static string CocoRegion(string segmentation, int imageId = 1, int categoryId = 1) =>
        $"{{\"id\": 5, \"image_id\": {imageId}, \"category_id\": {categoryId}, \"iscrowd\": 0, \"segmentation\": {segmentation}}}";

    /// <summary>A PNG signature and IHDR declaring <paramref name="width"/> x <paramref name="height"/>, then nothing.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var b = new List<byte>([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R']);
        var dims = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(dims, width);
        BinaryPrimitives.WriteInt32BigEndian(dims.AsSpan(4), height);
        b.AddRange(dims);
        b.AddRange([8, 2, 0, 0, 0, 0, 0, 0, 0]); // 8-bit RGB, then a (wrong) CRC
        return [.. b];
    }

    // A pickle whose load would call os.system: a reader that executed it would create the sentinel file.
    private static byte[] PickleWithCode(string sentinel) =>
        Encoding.ASCII.GetBytes($"cos\nsystem\n(Vtouch {sentinel}\ntR.");

    /// <summary>Every case.</summary>
    public static IReadOnlyList<BadInput> Cases { get; } =
    [
        // Images.
        Image("image-empty", () => []),
        Image("image-random-bytes", () => new Random(1).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 4096)),
        Image("image-text", () => Encoding.ASCII.GetBytes("this is not an image\n")),
        Image("image-png-30000-pixels-declared", () => PngHeader(30000, 30000)),
        Image("image-truncated", () => File.ReadAllBytes(Path.Combine(Corpus.BaseVoc, "JPEGImages", Good + ".jpg"))[..200]),
        new("image-missing", MakeCam("bad"), "ghost", c => c.WriteSplit("bad", "ghost")),

        // Ids: data, never paths.
        SplitId("id-parent-traversal", "../../elsewhere/evil", "../../elsewhere/evil"),
        SplitId("id-absolute", "/tmp/evil", "/tmp/evil"),
        SplitId("id-separator", "sub/evil", "sub/evil"),
        SplitId("id-control-character", "evil\u0007", "not a plain file name"),
        SplitId("id-dot-dot", "..", "not a plain file name"),
        new("split-missing", MakeCam("no-such-split"), "no-such-split"),
        new("split-empty", MakeCam("empty"), "empty", c => File.WriteAllText(c.Split("empty"), "")),

        // Labels and classes.
        Csv("csv-unknown-class", $"image,labels\n{Good},unicorn\n", "unicorn"),
        Csv("csv-bad-header", $"picture;classes\n{Good};coat\n", "labels.csv"),
        Csv("csv-id-traversal", $"image,labels\n../elsewhere/x,coat\n", "../elsewhere/x"),
        Csv("csv-index-out-of-range", $"image,labels\n{Good},42\n", "42"),
        new("xml-malformed", MakeCam("one"), Good + ".xml", c => File.WriteAllText(Path.Combine(c.Voc, "Annotations", Good + ".xml"), "<annotation><object><name>coat")),
        new("xml-unknown-class", MakeCam("one"), "unicorn", c => File.WriteAllText(Path.Combine(c.Voc, "Annotations", Good + ".xml"),
            "<annotation><object><name>unicorn</name></object></annotation>")),
        new("npy-garbage", MakeCam("one", "--labels", "{root}/cls_labels.npy"), "cls_labels.npy",
            c => File.WriteAllBytes(Path.Combine(c.Root, "cls_labels.npy"), Encoding.ASCII.GetBytes("\x93NUMPY garbage"))),
        new("npy-pickle-with-code", MakeCam("one", "--labels", "{root}/cls_labels.npy"), "cls_labels.npy", c =>
        {
            var header = Encoding.ASCII.GetBytes("\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (), }");
            var padded = header.Concat(Enumerable.Repeat((byte)' ', 127 - header.Length)).Append((byte)'\n');
            File.WriteAllBytes(Path.Combine(c.Root, "cls_labels.npy"), [.. padded, .. PickleWithCode(Path.Combine(c.Elsewhere, "executed"))]);
        }),
        new("classes-empty", MakeCam("one", "--classes", "{root}/classes.txt"), "classes.txt", c => File.WriteAllText(Path.Combine(c.Root, "classes.txt"), "\n")),
        new("classes-duplicate", MakeCam("one", "--classes", "{root}/classes.txt"), "coat",
            c => File.WriteAllText(Path.Combine(c.Root, "classes.txt"), "coat\ncoat\n")),

        // The COCO layout.
        Coco("coco-json-truncated", CocoMakeCam, "instances_x.json", CocoRegion("[[0, 0, 9, 0, 9, 9]]"), json => json[..(json.Length / 2)]),
        Coco("coco-annotation-image-unlisted", CocoMakeCam, "refers to image 99", CocoRegion("[[0, 0, 9, 0, 9, 9]]", imageId: 99)),
        Coco("coco-annotation-category-unlisted", CocoMakeCam, "category 7", CocoRegion("[[0, 0, 9, 0, 9, 9]]", categoryId: 7)),
        Coco("coco-image-missing", CocoMakeCam, "ghost.jpg", CocoRegion("[[0, 0, 9, 0, 9, 9]]"), json => json.Replace("good.jpg", "ghost.jpg")),
        Coco("coco-split-missing", ["make-cam", "--coco", "{root}/coco", "--split", "y", "--work", "{work}"], "instances_y.json", ""),
        Also(Coco("coco-classes-differ", [.. CocoMakeCam, "--classes", "{root}/classes.txt"], "--classes", ""),
            c => File.WriteAllText(Path.Combine(c.Root, "classes.txt"), "coat\n")),
        Coco("coco-rle-size-differs", CocoMasks, "annotation 5", CocoRegion("{\"size\": [32, 32], \"counts\": [1024]}")),
        Coco("coco-rle-counts-short", CocoMasks, "annotation 5", CocoRegion("{\"size\": [64, 64], \"counts\": [10, 20]}")),
        Coco("coco-rle-compressed-garbage", CocoMasks, "instances_x.json", CocoRegion("{\"size\": [64, 64], \"counts\": \"~~~\"}")),
        Coco("coco-polygon-odd", CocoMasks, "annotation 5", CocoRegion("[[0, 0, 9, 0, 9]]")),
        new("coco-and-voc", ["train-cam", "--voc", "{voc}", "--coco", "{voc}", "--work", "{work}/fresh"], "--coco"),

        // Option values.
        new("crop-30000", TrainCam("--crop", "30000"), "--crop"),
        new("batch-0", TrainCam("--batch", "0"), "--batch"),
        new("epochs-0", TrainCam("--epochs", "0"), "--epochs"),
        new("lr-negative", TrainCam("--lr", "-1"), "--lr"),
        new("epochs-unparsable", TrainCam("--epochs", "many"), "--epochs"),
        new("option-unknown", TrainCam("--frobnicate", "1"), "--frobnicate"),
        new("threads-1000", TrainCam("--threads", "1000"), "--threads"),
        new("device-unknown", TrainCam("--device", "tpu"), "tpu"),
        new("backbone-unknown", TrainCam("--backbone", "resnet7"), "resnet7"),
        new("weights-missing", TrainCam("--weights", "{root}/nope.pth"), "nope.pth"),
        new("scales-1e9", MakeCam("one", "--scales", "1e9"), "--scales"),
        new("scales-unparsable", MakeCam("one", "--scales", "1,x"), "--scales"),
        new("scales-zero", MakeCam("one", "--scales", "0"), "--scales"),
        new("max-input-side-10", MakeCam("one", "--max-input-side", "10"), "--max-input-side"),
        new("shard-3-of-2", MakeCam("one", "--shard", "3/2"), "--shard"),
        new("threshold-5", EvalCam("--threshold", "5"), "--threshold"),
        new("w2-gain-negative", Refine("make-recam", "--w2-gain", "-1"), "--w2-gain"),
        new("pixel-class-unknown", Refine("make-recam", "--pixel-class", "w3"), "--pixel-class"),
        new("voc-missing", ["train-cam", "--voc", "{root}/no-such-voc", "--work", "{work}/fresh"], "no-such-voc"),

        // Files in the work folder and checkpoints.
        new("checkpoint-truncated", MakeCam("one", "--checkpoint", "{root}/cut.ckpt"), "cut.ckpt",
            c => { File.Copy(c.Checkpoint, Path.Combine(c.Root, "cut.ckpt")); CaseFolder.Cut(Path.Combine(c.Root, "cut.ckpt")); }),
        new("checkpoint-flipped-bytes", MakeCam("one", "--checkpoint", "{root}/flipped.ckpt"), "flipped.ckpt",
            c => { File.Copy(c.Checkpoint, Path.Combine(c.Root, "flipped.ckpt")); CaseFolder.Flip(Path.Combine(c.Root, "flipped.ckpt"), 64); }),
        new("checkpoint-random", MakeCam("one", "--checkpoint", "{root}/random.ckpt"), "random.ckpt",
            c => File.WriteAllBytes(Path.Combine(c.Root, "random.ckpt"), new Random(2).GetItems<byte>(new byte[] { 0, 1, 80, 75, 255 }, 5000))),
        new("checkpoint-missing", MakeCam("one", "--checkpoint", "{root}/none.ckpt"), "none.ckpt"),
        new("maps-flipped-bytes", EvalCam(), Good + ".npz", c => CaseFolder.Flip(Path.Combine(c.Work, "cams", Good + ".npz"), 64, -200)),
        new("maps-truncated", EvalCam(), Good + ".npz", c => CaseFolder.Cut(Path.Combine(c.Work, "cams", Good + ".npz"))),
        new("maps-classes-reordered", EvalCam(), CamMapsFile.ClassesFile, c =>
        {
            string path = Path.Combine(c.Work, "cams", CamMapsFile.ClassesFile);
            File.WriteAllLines(path, File.ReadAllLines(path).Reverse());
        }),
        new("maps-missing", EvalCam(), "make-cam", c => File.Delete(Path.Combine(c.Work, "cams", Good + ".npz"))),
        new("mask-not-a-png", EvalCam(), Good + ".png", c => File.WriteAllBytes(Path.Combine(c.Voc, "SegmentationClass", Good + ".png"),
            File.ReadAllBytes(Path.Combine(Corpus.BaseVoc, "JPEGImages", Good + ".jpg")))),
        new("mask-missing", EvalCam(), "SegmentationClass", c => File.Delete(Path.Combine(c.Voc, "SegmentationClass", Good + ".png"))),
        new("irlabel-fg-threshold-2", Refine("cam-to-ir-label", "--fg-threshold", "2"), "--fg-threshold"),
        new("irlabel-bg-above-fg", Refine("cam-to-ir-label", "--fg-threshold", "0.2", "--bg-threshold", "0.5"), "--bg-threshold"),
        new("irlabel-maps-unknown", Refine("cam-to-ir-label", "--maps", "heatmaps"), "heatmaps"),
        new("irn-crop-not-multiple-of-4", ["train-irn", "--voc", "{voc}", "--work", "{work}/fresh", "--crop", "82"], "--crop"),
        new("sem-seg-no-boundary-model", Refine("make-sem-seg"), "train-irn"),
        new("sem-seg-model-is-a-cam", Refine("make-sem-seg", "--checkpoint", "{ckpt}"), "cam.ckpt"),
        new("sem-seg-threshold-5", Refine("make-sem-seg", "--sem-seg-threshold", "5"), "--sem-seg-threshold"),
        new("deeplab-masks-folder-missing", Refine("train-deeplab", "--masks", "{root}/no-masks"), "no-masks"),
        new("deeplab-no-pseudo-masks", Refine("train-deeplab"), "make-sem-seg"),
        new("deeplab-variant-unknown", Refine("train-deeplab", "--deeplab", "v9"), "v9"),
        new("deeplab-output-stride-32", Refine("train-deeplab", "--output-stride", "32"), "output stride"),
        new("deeplab-random-scales-zero", Refine("train-deeplab", "--masks", "{voc}/SegmentationClass", "--random-scales", "0"), "--random-scales"),
        new("eval-deeplab-no-model", Refine("eval-deeplab"), "train-deeplab"),
        new("eval-deeplab-model-is-a-cam", Refine("eval-deeplab", "--checkpoint", "{ckpt}"), "cam.ckpt"),
        new("predict-input-missing", ["predict", "--model", "{ckpt}", "--input", "{root}/no-images", "--out", "{root}/predicted"], "no-images"),
        new("predict-model-is-a-cam", ["predict", "--model", "{ckpt}", "--input", "{voc}/JPEGImages", "--out", "{root}/predicted"], "cam.ckpt"),
        new("work-is-a-file", ["make-cam", "--voc", "{voc}", "--work", "{root}/work-file", "--split", "one", "--checkpoint", "{ckpt}"], "work-file",
            c => File.WriteAllText(Path.Combine(c.Root, "work-file"), "x")),
    ];
}

/// <summary>Where the corpus's base data set lives for the current test run.</summary>
internal static class Corpus
{
    public static string BaseVoc { get; set; } = "";
}
