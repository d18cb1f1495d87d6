// What a .NET developer writes after `dotnet add package ReCam.MLNet`: generate a few scenes, fit CAM -> ReCAM in one ML.NET
// pipeline, save it; in a second process, load it and compute the maps again. Usage: app fit DIR | app load DIR
using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Data;
using ReCam.MLNet;
using ReCam.Scenes;

string mode = args[0], dir = Path.GetFullPath(args[1]);
string scenes = Path.Combine(dir, "scenes"), zip = Path.Combine(dir, "recam.zip");
if (mode == "fit") SceneGenerator.Generate(scenes, new SceneOptions { Count = 16, ImageSize = 64, ValFraction = 0, Seed = 3 });
var classNames = ClassNames.ReadFile(Path.Combine(scenes, SceneGenerator.ClassesFile)).ToArray();
var dataset = new VocDataset(scenes, classNames);
var ids = dataset.ReadSplit("train");
var labels = dataset.LoadLabels(ids);
var rows = ids.Select(id => new Row { ImagePath = dataset.ImagePath(id), Label = labels[id] }).ToList();
var schema = SchemaDefinition.Create(typeof(Row));
schema[nameof(Row.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classNames.Length);

var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(rows, schema);
ITransformer model;
if (mode == "fit")
{
    var pipeline = ml.Transforms.LoadImages("Image", "", "ImagePath")
        .Append(ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options
        {
            ClassNames = classNames, Epochs = 1, BatchSize = 8, Crop = 64, Scales = [1.0],
        }))
        .Append(ml.Transforms.ReactivateClassActivationMaps(new ReactivatedClassActivationMapEstimator.Options
        {
            HeadWarmupEpochs = 1, Epochs = 1, BatchSize = 8, Crop = 64, LearningRate = 0,
        }));
    model = pipeline.Fit(data);
    ml.Model.Save(model, data.Schema, zip);
}
else
{
    model = ml.Model.Load(zip, out _);
}
var sums = MapColumns.Read(model.Transform(data), MapColumnNames.FromBaseName("ReCam"))
    .Select(m => $"{string.Join(",", m.Keys)} {m.HighRes.Sum(v => (double)v):R}");
File.WriteAllLines(Path.Combine(dir, mode + ".txt"), sums);
Console.WriteLine($"{mode}: {rows.Count} rows, maps of {string.Join(", ", classNames.Take(3))}... written to {mode}.txt");
(model as IDisposable)?.Dispose();

public sealed class Row
{
    public string ImagePath { get; set; } = "";
    public float[] Label { get; set; } = [];
}
