// ReCam.QuickStart.MLNet: the ML.NET pipeline LoadImages -> TrainClassActivationMaps -> ReactivateClassActivationMaps ->
// RefineMasks -> DeepLabSegmentation on generated Fashion-MNIST scenes, then a scoring-only segmenter serving new images. Usage: dotnet run --project samples/ReCam.QuickStart.MLNet [-- WORK_FOLDER]
// (default ./work/mlnet-quickstart). Needs the Debian package dataset-fashion-mnist the first time (scene generation).
using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Data;
using ReCam.Evaluation;
using ReCam.Imaging;
using ReCam.MLNet;
using ReCam.QuickStart.MLNet;
using ReCam.Scenes;
using SkiaSharp;

const int TrainScenes = 200, ValScenes = 20, Size = 96;
const float DefaultThreshold = SeedPrediction.DefaultThreshold;
string work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("work", "mlnet-quickstart"));
string scenes = Path.Combine(work, "scenes");

// 1. Data: the bundled scene generator writes a VOC-style folder (JPEG images, PNG masks, image-level labels).
if (!File.Exists(Path.Combine(scenes, SceneGenerator.ClassesFile)))
{
    Console.WriteLine($"Generating {TrainScenes} training and {ValScenes} validation scenes of {Size} px in {scenes} ...");
    SceneGenerator.Generate(scenes, new SceneOptions
    {
        Count = TrainScenes + ValScenes, ValFraction = (double)ValScenes / (TrainScenes + ValScenes), ImageSize = Size,
    });
}
var classNames = ClassNames.ReadFile(Path.Combine(scenes, SceneGenerator.ClassesFile)).ToArray();
var dataset = new VocDataset(scenes, classNames);
var trainIds = dataset.ReadSplit("train");
var labels = dataset.LoadLabels(trainIds);
var rows = trainIds.Select(id => new SceneRow { ImagePath = dataset.ImagePath(id), Label = labels[id] }).ToList();

var ml = new MLContext(seed: 1);
ml.Log += (_, e) =>
{
    if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info &&
        (e.Source.Contains("ClassActivationMap", StringComparison.Ordinal) || e.Source.Contains("MaskRefiner", StringComparison.Ordinal) ||
         e.Source.Contains("DeepLab", StringComparison.Ordinal)))
        Console.WriteLine("  " + e.RawMessage);
};
// The label is a multi-hot Vector<Single, C>; C comes from the data, so the vector size is set in a schema definition.
var schema = SchemaDefinition.Create(typeof(SceneRow));
schema[nameof(SceneRow.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classNames.Length);
var train = ml.Data.LoadFromEnumerable(rows, schema);

// 2. The pipeline. LoadImages with an empty folder and absolute paths keeps the saved model portable.
var pipeline = ml.Transforms.LoadImages("Image", imageFolder: "", inputColumnName: "ImagePath")
    .Append(ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options
    {
        ClassNames = classNames, Epochs = 5, BatchSize = 16, Crop = Size, // learning rates: the backbone's defaults
    }))
    // Appended after the CAM estimator, the re-activation trainer continues from the CAM model fitted just before it.
    .Append(ml.Transforms.ReactivateClassActivationMaps(new ReactivatedClassActivationMapEstimator.Options { BatchSize = 16, Crop = Size }))
    // The mask refiner makes IR labels from the ReCAM maps, trains a boundary network on them, and turns maps into pseudo masks.
    .Append(ml.Transforms.RefineMasks(new MaskRefinerEstimator.Options { BatchSize = 16, Crop = Size }))
    // DeepLab learns from the pseudo masks (and the refiner's class names) to segment images that have no labels at all.
    .Append(ml.MulticlassClassification.Trainers.DeepLabSegmentation(new DeepLabSegmentationTrainer.Options { Epochs = 10, BatchSize = 16, Crop = Size }));
Console.WriteLine($"Fitting CAM, then ReCAM, then the mask refiner, then DeepLab, on {rows.Count} scenes ...");
var model = pipeline.Fit(train);

// 3. Seed mIoU on the training images: maps from the output columns, masks from the scenes' PNGs.
var output = model.Transform(train);
var chain = model.ToArray();
// Each map transformer chose its background threshold at Fit from the maps of training images, without the masks.
var automatic = new Dictionary<string, float>
{
    ["Cam"] = ((ClassActivationMapTransformer)chain[1]).BackgroundThreshold,
    ["ReCam"] = ((ReactivatedClassActivationMapTransformer)chain[2]).BackgroundThreshold,
};
foreach (string name in new[] { "Cam", "ReCam" })
{
    var sweep = new ThresholdSweep(classNames.Length + 1, DefaultThreshold, ThresholdSweep.StandardThresholds().Append(automatic[name]));
    int i = 0;
    foreach (var maps in MapColumns.Read(output, MapColumnNames.FromBaseName(name)))
    {
        var mask = PngLabelReader.Read(dataset.MaskPath(trainIds[i]) ?? throw new FileNotFoundException($"No mask for {trainIds[i]}"));
        sweep.Add(maps, new GroundTruth(trainIds[i++], mask.Width, mask.Height, mask.Values));
    }
    var result = sweep.GetResult();
    double atAutomatic = result.Scores.Single(s => Math.Abs(s.Threshold - automatic[name]) < 1e-6f).MeanIoU;
    Console.WriteLine($"Seed mIoU ({name}, {result.ImageCount} training images): {100 * result.BestConfusion.MeanIoU():F1} at the best threshold " +
                      $"{result.BestThreshold:F2}, {100 * atAutomatic:F1} at the automatic {automatic[name]:F2}, " +
                      $"{100 * result.DefaultConfusion.MeanIoU():F1} at {DefaultThreshold:F2}.");
}

// The pseudo masks against the same masks.
var pseudoMasks = new ReCam.Evaluation.ConfusionMatrix(classNames.Length + 1);
int row = 0;
foreach (byte[] pseudoMask in output.GetColumn<byte[]>("PseudoMask"))
{
    var mask = PngLabelReader.Read(dataset.MaskPath(trainIds[row++]) ?? throw new FileNotFoundException($"No mask for {trainIds[row - 1]}"));
    pseudoMasks.Add(mask.Values, pseudoMask);
}
Console.WriteLine($"Pseudo-mask mIoU ({row} training images): {100 * pseudoMasks.MeanIoU():F1}");

// 4. The segmenter alone is what an application ships: it reads only images. Saved without an input schema (ML.NET cannot store
// an image column as one), it takes encoded image bytes, as a server receives them (samples/ReCam.Serving does exactly this).
var segmenter = model.LastTransformer;
string segmenterZip = Path.Combine(work, "segmenter.zip");
ml.Model.Save(segmenter, null, segmenterZip);
Console.WriteLine($"Saved the scoring-only segmenter {segmenterZip}");
var valIds = dataset.ReadSplit("val");
var ml3 = new MLContext(seed: 3);
var serving = ml3.Model.LoadReCamModel(segmenterZip, out _);
var valMasks = new ReCam.Evaluation.ConfusionMatrix(classNames.Length + 1);
var clock = new System.Diagnostics.Stopwatch(); // times Predict alone (decode, network, arg-max), not the file reads or overlays
using (var segmentEngine = ml3.Model.CreatePredictionEngine<SegmenterInput, SegmenterPrediction>(serving))
{
    foreach (string id in valIds)
    {
        var input = new SegmenterInput { Image = File.ReadAllBytes(dataset.ImagePath(id)) };
        clock.Start();
        var result = segmentEngine.Predict(input);
        clock.Stop();
        var truth = PngLabelReader.Read(dataset.MaskPath(id) ?? throw new FileNotFoundException($"No mask for {id}"));
        valMasks.Add(truth.Values, result.PredictedMask);
        var overlay = MaskOverlay.Draw(ImageDecoder.LoadRgb(dataset.ImagePath(id)), new LabelMap(result.PredictedMaskWidth, result.PredictedMaskHeight, result.PredictedMask));
        if (id == valIds[0]) PalettePngWriter.WriteRgb(Path.Combine(work, $"{id}-deeplab-overlay.png"), overlay);
    }
}
Console.WriteLine($"DeepLab on {valIds.Count} validation images it never saw (no labels given): mIoU {100 * valMasks.MeanIoU():F1}; " +
                  $"{valIds.Count / clock.Elapsed.TotalSeconds:F2} images/s through a PredictionEngine (scales 0.75, 1, 1.25 with flips); " +
                  $"overlay {Path.Combine(work, $"{valIds[0]}-deeplab-overlay.png")}");

// 5. The whole pipeline in one .zip: save, reload in a new MLContext, predict one validation image (not used for training).
string zip = Path.Combine(work, "recam-pipeline.zip");
ml.Model.Save(model, train.Schema, zip);
model.Dispose();
Console.WriteLine($"Saved {zip}");

var ml2 = new MLContext(seed: 2);
var loaded = ml2.Model.LoadReCamModel(zip, out _);
using var engine = ml2.Model.CreatePredictionEngine<SceneRow, ReCamPrediction>(loaded, inputSchemaDefinition: schema); // owns (disposes) the model
string valId = valIds[0];
// Its image-level label chooses the classes whose maps are made (as make_cam does); a row without a Label column lets the
// re-activated classifier choose (probability above PredictionThreshold, 0.5 by default).
var prediction = engine.Predict(new SceneRow { ImagePath = dataset.ImagePath(valId), Label = dataset.LoadLabels([valId])[valId] });
var predicted = MapColumns.ToMaps(prediction.ReCamClasses, prediction.ReCam, prediction.ReCamStride4, prediction.ReCamHeight, prediction.ReCamWidth);
var top = prediction.ReCamScores.Select((p, c) => (p, c)).OrderByDescending(x => x.p).Take(3).Select(x => $"{classNames[x.c]} {x.p:F2}");
Console.WriteLine($"{valId}: maps for [{string.Join(", ", predicted.Keys.Select(k => classNames[k]))}]; classifier's top 3: {string.Join(", ", top)}");

// 6. Overlays, in VOC colours, half over the image: the seeds (per pixel the arg-max over [the background plane at the ReCAM
// model's automatic threshold; ReCAM maps]) and the pseudo mask.
float background = ((TransformerChain<ITransformer>)loaded).OfType<ReactivatedClassActivationMapTransformer>().Single().BackgroundThreshold;
WriteOverlay(SeedPrediction.Predict(predicted, background), "recam");
WriteOverlay(prediction.PseudoMask, "pseudo-mask");

void WriteOverlay(byte[] labels, string name)
{
    using var image = SKBitmap.Decode(dataset.ImagePath(valId));
    for (int y = 0; y < image.Height; y++)
    {
        for (int x = 0; x < image.Width; x++)
        {
            var p = image.GetPixel(x, y);
            var (r, g, b) = VocPalette.Colors[labels[y * image.Width + x]];
            image.SetPixel(x, y, new SKColor((byte)((p.Red + r) / 2), (byte)((p.Green + g) / 2), (byte)((p.Blue + b) / 2)));
        }
    }
    string overlay = Path.Combine(work, $"{valId}-{name}-overlay.png");
    using (var encoded = SKImage.FromBitmap(image).Encode(SKEncodedImageFormat.Png, 100))
        File.WriteAllBytes(overlay, encoded.ToArray());
    Console.WriteLine($"Overlay: {overlay}");
}
